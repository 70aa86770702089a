import assert from "node:assert/strict";
import { test } from "node:test";
import {
  convertRecord,
  findField,
  getFieldValue,
  isSecretField,
  type KeeperRecord,
  looksLikeUid,
  newRecord,
  newUid,
  parseBool,
  parseRecord,
  type RecordField,
  setFieldValue,
} from "./record.js";

test("UIDs are 22 URL-safe chars and never start with '-'", () => {
  for (let i = 0; i < 2000; i++) {
    const uid = newUid();
    assert.equal(uid.length, 22);
    assert.ok(looksLikeUid(uid), uid);
    assert.ok(!uid.startsWith("-"));
    assert.equal(Buffer.from(uid, "base64url").length, 16);
  }
});

test("newRecord gives a type its standard fields", () => {
  const r = newRecord("pamUser", "alice");
  assert.deepEqual(
    r.fields.map((f) => f.label ?? f.type),
    [
      "login",
      "password",
      "privatePEMKey",
      "distinguishedName",
      "connectDatabase",
      "managed",
      "oneTimeCode",
      "fileRef",
      "rotationScripts",
    ],
  );
  assert.throws(() => newRecord("login", "  "), /non-empty title/);
});

test("lookup by label searches fields then custom; by type when no label matches", () => {
  const r = newRecord("pamUser", "alice");
  setFieldValue(r, "login", "alice");
  r.custom.push({ type: "text", label: "login", value: ["custom-login"] });
  r.fields.push({ type: "text", label: "awsId", value: ["1"] });
  r.custom.push({ type: "text", label: "awsId", value: ["2"] });
  assert.equal(getFieldValue(r, "awsId"), "1", "label in fields wins over custom");
  assert.equal(getFieldValue(r, "login"), "custom-login", "a label match wins over a type match");
  assert.equal(findField(r, "password")?.section, "fields");
  assert.equal(getFieldValue(r, "nope"), undefined);
});

test("setFieldValue creates missing custom fields with the right type", () => {
  const r = newRecord("pamUser", "alice");
  assert.equal(setFieldValue(r, "aws_access_key_id", "AKIA1"), undefined);
  setFieldValue(r, "aws_secret_access_key", "s3cret", { type: "secret" });
  assert.deepEqual(r.custom, [
    { type: "text", label: "aws_access_key_id", value: ["AKIA1"] },
    { type: "secret", label: "aws_secret_access_key", value: ["s3cret"] },
  ]);
  assert.equal(setFieldValue(r, "aws_access_key_id", "AKIA2"), "AKIA1");
  assert.equal(getFieldValue(r, "aws_access_key_id"), "AKIA2");
  setFieldValue(r, "password", "pw");
  assert.equal(findField(r, "password")?.section, "fields");
  setFieldValue(r, "aws_access_key_id", "");
  assert.equal(getFieldValue(r, "aws_access_key_id"), "");
});

test("convert login → pamUser keeps values and custom fields", () => {
  const r = newRecord("login", "tmpl");
  setFieldValue(r, "login", "bob");
  setFieldValue(r, "password", "pw");
  setFieldValue(r, "url", "https://x");
  setFieldValue(r, "NOOP", "True");
  const p = convertRecord(r, "pamUser");
  assert.equal(p.type, "pamUser");
  assert.equal(getFieldValue(p, "login"), "bob");
  assert.equal(getFieldValue(p, "password"), "pw");
  assert.equal(getFieldValue(p, "url"), "https://x", "a field pamUser lacks moves to custom, not lost");
  assert.equal(getFieldValue(p, "NOOP"), "True");
  assert.throws(() => convertRecord(r, "bogus"), /unknown record type/);
});

test("parseBool accepts the seed's True/False in any case", () => {
  for (const t of ["True", "true", "YES", "1", "on"]) assert.equal(parseBool(t), true, t);
  for (const f of ["False", "no", "0", "", undefined]) assert.equal(parseBool(f), false, String(f));
});

test("parseRecord validates untrusted JSON", () => {
  assert.throws(() => parseRecord([]), /not a JSON object/);
  assert.throws(() => parseRecord({ title: "x" }), /no "type"/);
  assert.throws(() => parseRecord({ type: "login" }), /no "title"/);
  assert.throws(() => parseRecord({ type: "login", title: "t", fields: [{}] }), /fields\[0\]/);
  const r = parseRecord({ type: "login", title: "t", fields: [{ type: "login", value: "a" }] });
  assert.deepEqual(r.fields, [{ type: "login", value: ["a"] }]);
  assert.deepEqual(r.custom, []);
  assert.equal(r.notes, "");
});

test("secrets are secrets by label as well as by type, in one place", () => {
  for (const label of [
    "aws_secret_access_key",
    "accessSecretKey",
    "password",
    "secret",
    "AWS_SECRET_ACCESS_KEY",
  ]) {
    assert.equal(isSecretField({ type: "text", label }), true, label);
  }
  assert.equal(isSecretField({ type: "secret" }), true);
  assert.equal(isSecretField({ type: "text", label: "aws_access_key_id" }), false);
  assert.equal(isSecretField({ type: "text" }), false);
});

test("a text field with a secret label is saved as a hidden secret field", () => {
  const r = parseRecord({
    type: "login",
    title: "from CSV",
    custom: [
      { type: "text", label: "aws_secret_access_key", value: ["SECRETvalue0123"] },
      { type: "text", label: "aws_access_key_id", value: ["AKIA0000"] },
    ],
  });
  assert.deepEqual(
    r.custom.map((f) => [f.label, f.type, f.value[0]]),
    [
      ["aws_secret_access_key", "secret", "SECRETvalue0123"],
      ["aws_access_key_id", "text", "AKIA0000"],
    ],
  );
});

test("findField: label in fields, label in custom, unlabelled type, any type, in that order (against six scans)", () => {
  // The ranking as six scans, one a rank and section: what the one-pass findField must agree with.
  const reference = (r: KeeperRecord, name: string) => {
    const ranks: Array<(f: RecordField) => boolean> = [
      (f) => f.label === name,
      (f) => f.type === name && !f.label,
      (f) => f.type === name,
    ];
    for (const rank of ranks) {
      for (const section of ["fields", "custom"] as const) {
        const i = r[section].findIndex(rank);
        if (i >= 0) return { section, index: i };
      }
    }
    return undefined;
  };
  const names = ["login", "password", "secret", "text", ""];
  let seed = 7;
  const pick = <T>(xs: T[]) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return xs[seed % xs.length]!;
  };
  for (let n = 0; n < 2000; n++) {
    const field = (): RecordField => {
      const label = pick([undefined, ...names]);
      return { type: pick(names.filter(Boolean)), ...(label === undefined ? {} : { label }), value: [] };
    };
    const r: KeeperRecord = {
      type: "login",
      title: "t",
      fields: Array.from({ length: pick([0, 1, 2, 3, 5]) }, field),
      custom: Array.from({ length: pick([0, 1, 2, 4]) }, field),
      notes: "",
    };
    for (const name of names) {
      const got = findField(r, name);
      assert.deepEqual(got ? { section: got.section, index: got.index } : undefined, reference(r, name));
      if (got) assert.equal(got.field, r[got.section][got.index]);
    }
  }
});
