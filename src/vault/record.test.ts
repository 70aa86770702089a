import assert from "node:assert/strict";
import { test } from "node:test";
import {
  convertRecord,
  findField,
  getFieldValue,
  isSecretField,
  looksLikeUid,
  newRecord,
  newUid,
  parseBool,
  parseRecord,
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
