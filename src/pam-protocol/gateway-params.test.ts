import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import {
  encodeGatewayParams,
  type FlatRecord,
  flatToRecord,
  flattenRecord,
  flatValue,
  flatValues,
  parseGatewayParams,
  readFirstLine,
} from "./gateway-params.js";

const b64 = (v: unknown) =>
  Buffer.from(typeof v === "string" ? v : JSON.stringify(v), "utf8").toString("base64");

const USER_UID = "UsErReCoRdUiD0123456789";
const CONFIG_UID = "CoNfIgReCoRdUiD01234567";
const NEW_PASSWORD = "n3w-P4ssw0rd-never-printed";
const ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

const goodRecords: FlatRecord[] = [
  {
    uid: CONFIG_UID,
    title: "AWS config",
    awsId: "123456789012",
    accessKeyId: "AKIAADMIN",
    accessSecretKey: ADMIN_SECRET,
  },
  { uid: USER_UID, title: "alice (AWS)", login: "alice", aws_access_key_id: "AKIAOLD" },
];

function line(overrides: Record<string, unknown> = {}, drop: string[] = []): string {
  const o: Record<string, unknown> = {
    providerRecordUid: CONFIG_UID,
    resourceRecordUid: "",
    userRecordUid: USER_UID,
    newPassword: NEW_PASSWORD,
    oldPassword: "old-password-never-printed",
    user: "alice",
    records: b64(goodRecords),
    ...overrides,
  };
  for (const k of drop) delete o[k];
  return b64(o);
}

describe("parseGatewayParams", () => {
  test("a good line: the seven keys, the records, the user record", () => {
    const p = parseGatewayParams(`${line()}\n`);
    assert.equal(p.user, "alice");
    assert.equal(p.userRecordUid, USER_UID);
    assert.equal(p.providerRecordUid, CONFIG_UID);
    assert.equal(p.resourceRecordUid, undefined);
    assert.ok(p.newPassword instanceof Secret);
    assert.equal(p.newPassword?.reveal(), NEW_PASSWORD);
    assert.equal(p.records.length, 2);
    assert.equal(p.userRecord?.aws_access_key_id, "AKIAOLD");
    assert.equal(p.record(CONFIG_UID)?.title, "AWS config");
  });

  test("liberal: URL-safe base64, no padding, CRLF, a BOM, records given as an array", () => {
    const urlSafe = Buffer.from(Buffer.from(line(), "base64")).toString("base64url");
    assert.equal(parseGatewayParams(`\uFEFF${urlSafe}\r\n`).user, "alice");
    assert.equal(parseGatewayParams(line({ records: goodRecords })).records.length, 2);
  });

  const bad: Array<[string, string, RegExp]> = [
    ["empty", "", /is empty/],
    ["only whitespace", "  \n", /is empty/],
    ["not base64", "this is not base64!", /not base64/],
    ["base64 of binary", Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString("base64"), /not base64 of UTF-8/],
    ["not JSON", b64(`{"user": "alice", "newPassword": "${NEW_PASSWORD}"`), /not of JSON/],
    ["JSON but not an object", b64([1, 2]), /not an object/],
    ["no user", line({}, ["user"]), /no "user"/],
    ["empty user", line({ user: "  " }), /no "user"/],
    ["no userRecordUid", line({}, ["userRecordUid"]), /no "userRecordUid"/],
    ["userRecordUid not a string", line({ userRecordUid: 7 }), /"userRecordUid" that is not a string/],
    ["no records", line({}, ["records"]), /no "records"/],
    ["records not base64", line({ records: "%%%" }), /"records" that are not base64/],
    ["records not JSON", line({ records: b64("[{") }), /"records" that are base64, but not of JSON/],
    ["records not an array", line({ records: b64({ uid: USER_UID }) }), /not a JSON array/],
    [
      "a record not an object",
      line({ records: b64([goodRecords[1], "x"]) }),
      /records\[1\] that is not an object/,
    ],
    ["a record without uid", line({ records: b64([{ title: "t" }]) }), /records\[0\] without a "uid"/],
    ["unknown userRecordUid", line({ userRecordUid: "SoMeOtHeRuId0123456789" }), /not among its 2 records/],
  ];
  for (const [name, input, expected] of bad) {
    test(`bad stdin: ${name} → one-line usage error, no secret echoed`, () => {
      let err: unknown;
      try {
        parseGatewayParams(input);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof RekeyError, `expected a RekeyError for ${name}`);
      assert.equal(err.kind, "usage");
      assert.equal(err.exitCode, 2);
      assert.match(err.message, expected);
      assert.ok(!err.message.includes("\n"), "one line");
      for (const secret of [NEW_PASSWORD, ADMIN_SECRET, "old-password-never-printed"]) {
        assert.ok(!err.message.includes(secret) && !(err.hint ?? "").includes(secret));
      }
    });
  }

  test("the user record may be optional when the caller says so", () => {
    const p = parseGatewayParams(line({ records: b64([goodRecords[0]]) }), { requireUserRecord: false });
    assert.equal(p.userRecord, undefined);
  });

  test("params never print their secrets (JSON, inspect, String)", () => {
    const p = parseGatewayParams(line());
    for (const text of [JSON.stringify(p), inspect(p, { depth: 10 }), String(p)]) {
      assert.ok(!text.includes(NEW_PASSWORD), text);
      assert.ok(!text.includes(ADMIN_SECRET), text);
      assert.ok(!text.includes("old-password-never-printed"), text);
    }
    assert.match(JSON.stringify(p), /accessSecretKey/, "key names are shown");
  });
});

describe("flattenRecord / encodeGatewayParams", () => {
  const rec: KeeperRecord = {
    type: "pamUser",
    title: "alice (AWS)",
    notes: "never flattened",
    fields: [
      { type: "login", value: ["alice"] },
      { type: "password", value: ["pw"] },
      { type: "secret", label: "privatePEMKey", value: [] },
      { type: "checkbox", label: "managed", value: [true] },
      { type: "script", label: "rotationScripts", value: [{ fileRef: "F", command: "node" }] },
      { type: "host", value: [{ hostName: "h", port: "22" }] },
      { type: "url", value: ["https://a", "https://b"] },
    ],
    custom: [
      { type: "text", label: "aws_access_key_id", value: ["AKIANEW"] },
      { type: "secret", label: "aws_secret_access_key", value: ["s3cr3t"] },
      { type: "text", label: "login", value: ["second login"] },
      { type: "text", label: "login1", value: ["a field really labelled login1"] },
      { type: "text", label: "login", value: ["third login"] },
      { type: "text", label: "count", value: [3] },
      { type: "text", label: "title", value: ["a field labelled title"] },
    ],
  };

  const cases: Array<[string, unknown]> = [
    ["uid", USER_UID],
    ["title", "alice (AWS)"],
    ["login", "alice"],
    ["password", "pw"],
    ["managed", true],
    ["host", '{"hostName":"h","port":"22"}'],
    ["url", "https://a"],
    ["aws_access_key_id", "AKIANEW"],
    ["aws_secret_access_key", "s3cr3t"],
    ["login1", "a field really labelled login1"],
    ["login2", "second login"],
    ["login3", "third login"],
    ["count", 3],
    ["title1", "a field labelled title"],
  ];
  const flat = flattenRecord(USER_UID, rec);
  for (const [key, value] of cases) {
    test(`flatten: ${key} → ${JSON.stringify(value)}`, () => assert.deepEqual(flat[key], value));
  }

  test("flatten leaves out rotationScripts, empty fields and notes", () => {
    assert.equal(flat.rotationScripts, undefined);
    assert.equal(flat.privatePEMKey, undefined);
    assert.equal(flat.notes, undefined);
    assert.deepEqual(Object.keys(flat).slice(0, 2), ["uid", "title"]);
  });

  test("round trip: encode → parse gives the same params and dictionaries", () => {
    const encoded = encodeGatewayParams({
      providerRecordUid: CONFIG_UID,
      userRecordUid: USER_UID,
      user: "alice",
      newPassword: new Secret(NEW_PASSWORD),
      oldPassword: "old",
      records: [goodRecords[0] as FlatRecord, { uid: USER_UID, record: rec }],
    });
    assert.match(encoded, /^[A-Za-z0-9+/]+=*$/, "one line of standard base64");
    const p = parseGatewayParams(`${encoded}\n`);
    assert.equal(p.user, "alice");
    assert.equal(p.providerRecordUid, CONFIG_UID);
    assert.equal(p.resourceRecordUid, undefined);
    assert.equal(p.newPassword?.reveal(), NEW_PASSWORD);
    assert.equal(p.oldPassword?.reveal(), "old");
    assert.deepEqual(p.records[0], goodRecords[0]);
    assert.deepEqual(p.userRecord, flat);
    const outer = JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
    assert.deepEqual(Object.keys(outer), [
      "providerRecordUid",
      "resourceRecordUid",
      "userRecordUid",
      "newPassword",
      "oldPassword",
      "user",
      "records",
    ]);
  });
});

describe("reading flattened values", () => {
  const r: FlatRecord = {
    uid: "u",
    title: "t",
    url: "https://a",
    url_2: "https://c",
    url1: "https://b",
    "url (3)": "https://d",
    urlx: "not a repeat",
    empty: "",
    n: 5,
    obj: { a: 1 },
    arr: ["first", "second"],
  };
  const cases: Array<[string, string | undefined]> = [
    ["url", "https://a"],
    ["empty", undefined],
    ["missing", undefined],
    ["n", "5"],
    ["obj", '{"a":1}'],
    ["arr", "first"],
  ];
  for (const [name, expected] of cases) {
    test(`flatValue(${name}) → ${expected}`, () => assert.equal(flatValue(r, name), expected));
  }
  test("flatToRecord: each non-empty key a custom text field, readable by the record helpers", () => {
    const rec = flatToRecord(r);
    assert.equal(rec.title, "t");
    assert.equal(getFieldValue(rec, "url_2"), "https://c");
    assert.equal(getFieldValue(rec, "obj"), '{"a":1}');
    assert.equal(getFieldValue(rec, "empty"), undefined);
  });

  test("flatValues reads the repeats liberally, in number order", () => {
    assert.deepEqual(flatValues(r, "url"), ["https://a", "https://b", "https://c", "https://d"]);
    assert.deepEqual(flatValues(r, "missing"), []);
  });
});

describe("readFirstLine", () => {
  test("stops at the first newline, across chunks", async () => {
    const s = new PassThrough();
    const p = readFirstLine(s);
    s.write("abc");
    s.write("def\nsecond line\n");
    assert.equal(await p, "abcdef");
  });

  test("EOF without a newline gives what arrived", async () => {
    const s = new PassThrough();
    const p = readFirstLine(s);
    s.end("only");
    assert.equal(await p, "only");
  });

  test("a line over the limit is refused", async () => {
    const s = new PassThrough();
    const p = readFirstLine(s, { maxBytes: 4 });
    s.write("123456");
    await assert.rejects(p, /longer than 4 bytes/);
  });

  test("a silent stdin times out with a usage error", async () => {
    const s = new PassThrough();
    await assert.rejects(
      readFirstLine(s, { timeoutMs: 20 }),
      (e) => e instanceof RekeyError && e.kind === "usage",
    );
  });

  test("a terminal is refused at once", async () => {
    const s = Object.assign(new PassThrough(), { isTTY: true });
    await assert.rejects(readFirstLine(s), /is a terminal/);
  });
});
