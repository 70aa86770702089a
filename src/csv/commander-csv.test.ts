import assert from "node:assert/strict";
import { test } from "node:test";
import { awsUserTemplateCsv, awsUserTemplateRecord } from "../templates/aws-user.js";
import { getFieldValue } from "../vault/record.js";
import { csvField, parseCommanderCsv, recordToCells, toCommanderCsv } from "./commander-csv.js";

test("the seed template parses into a login record with the seed's custom fields", () => {
  const csv = awsUserTemplateCsv({ login: "alice" });
  assert.equal(csv.split("\n").filter(Boolean).length, 1, "one row, no header");
  const [row] = parseCommanderCsv(csv);
  assert.ok(row);
  const r = row.record;
  assert.equal(r.type, "login");
  assert.equal(getFieldValue(r, "login"), "alice");
  assert.ok(getFieldValue(r, "password"));
  assert.equal(csvField(row, "aws_access_key_id")?.type, "text");
  assert.equal(csvField(row, "aws_secret_access_key")?.type, "secret", "hidden field");
  assert.equal(csvField(row, "CreateDate")?.type, "text");
  assert.equal(csvField(row, "Access_Key_ID_Removed_during_previous_rotation")?.type, "text");
  assert.equal(getFieldValue(r, "delete_all_keys_before_rotating"), "False");
  assert.equal(getFieldValue(r, "NOOP"), "True");
  assert.equal(getFieldValue(r, "Private Key Type"), "rsa-ssh");
});

test("CSV round trip keeps a record as it was", () => {
  const rec = awsUserTemplateRecord({ login: "bob", title: 'bob, the "AWS" user' });
  rec.notes = "line1\nline2";
  rec.custom.push({ type: "schedule", label: "sched", value: [{ type: "DAILY", utcTime: "04:00" }] });
  const csv = toCommanderCsv([recordToCells(rec, { folderPath: ["team", "aws"], sharedFolder: "Ops" })]);
  const [row] = parseCommanderCsv(csv);
  assert.ok(row);
  assert.deepEqual(row.record, rec);
  assert.deepEqual(row.folderPath, ["team", "aws"]);
  assert.equal(row.sharedFolder, "Ops");
});

test("Commander's columns, $type, $fieldType:label and an optional header", () => {
  const csv = [
    "folder,title,login,password,url,notes,shared folder",
    "a\\b,cfg,,,,,Shared#edit,$type,pamAwsConfiguration,$text:awsId,123456789012,$secret:accessKeyId,AKIA1,$multiline:regionNames,us-east-1",
    ",plain,u,p,https://x,,,color,blue",
  ].join("\n");
  const rows = parseCommanderCsv(csv);
  assert.equal(rows.length, 2);
  const [cfg, plain] = rows;
  assert.equal(cfg?.record.type, "pamAwsConfiguration");
  assert.equal(getFieldValue(cfg!.record, "awsId"), "123456789012");
  assert.equal(getFieldValue(cfg!.record, "accessKeyId"), "AKIA1");
  assert.equal(
    cfg?.record.fields.find((f) => f.label === "accessKeyId")?.type,
    "secret",
    "fills the standard field",
  );
  assert.deepEqual(cfg?.folderPath, ["a", "b"]);
  assert.equal(cfg?.sharedFolder, "Shared");
  assert.equal(cfg?.line, 2);
  assert.equal(getFieldValue(plain!.record, "url"), "https://x");
  assert.deepEqual(plain?.record.custom, [{ type: "text", label: "color", value: ["blue"] }]);
});

test("bad rows are reported with their line number", () => {
  const cases: Array<[string, RegExp]> = [
    [",ok,u,p,,,\n,,u,p,,,", /line 2: the title/],
    [",ok,u,p,,,\n\n,short,u", /line 3: expected at least 6 columns/],
    [',ok,u,p,,,,"unclosed', /malformed/],
    [",ok,u,p,,,,$bad name!,x", /line 1: "\$bad name!" is not a field name/],
    [",ok,u,p,,,,dangling", /line 1: the custom field "dangling" has no value/],
    [",ok,u,p,,,,$record_uid,nope", /not a record UID/],
    [",ok,u,p,,,,$schedule:s,{bad json", /not valid JSON/],
  ];
  for (const [csv, re] of cases) assert.throws(() => parseCommanderCsv(csv), re, csv);
});

test("$type: a known type in another case is corrected with a notice; an unknown one is refused", () => {
  const cases: Array<[string, string, string[]]> = [
    ["pamUser", "pamUser", []],
    ["pamuser", "pamUser", ['$type "pamuser" read as "pamUser"']],
    [
      "PAMAWSCONFIGURATION",
      "pamAwsConfiguration",
      ['$type "PAMAWSCONFIGURATION" read as "pamAwsConfiguration"'],
    ],
    ["serverCredentials", "serverCredentials", []],
    ["file", "file", []],
  ];
  for (const [written, read, notices] of cases) {
    const [row] = parseCommanderCsv(`,t,u,,,,,$type,${written}`);
    assert.equal(row?.record.type, read, written);
    assert.deepEqual(row?.notices, notices, written);
  }
  const [plain] = parseCommanderCsv(",t,u,,,,");
  assert.equal(plain?.record.type, "login");
  assert.deepEqual(plain?.notices, []);
  assert.throws(
    () => parseCommanderCsv(",ok,u,,,,\n,t,u,,,,,$type,pamUsr"),
    /line 2: unknown record type \$type "pamUsr"; nothing was imported/,
  );
});
