import assert from "node:assert/strict";
import { test } from "node:test";
import { newRecord, setFieldValue } from "./record.js";
import { diffRecords } from "./record-diff.js";

test("diffRecords names changed, added and removed fields and properties, never values", () => {
  const a = newRecord("pamUser", "alice", "n1");
  setFieldValue(a, "login", "alice");
  setFieldValue(a, "aws_secret_access_key", "S3CR3T-OLD", { type: "secret" });
  setFieldValue(a, "CreateDate", "2024-01-01");
  const b = structuredClone(a);
  setFieldValue(b, "aws_secret_access_key", "S3CR3T-NEW", { type: "secret" });
  b.custom = b.custom.filter((f) => f.label !== "CreateDate");
  setFieldValue(b, "aws_access_key_id", "AKIA...");
  b.title = "alice2";
  const d = diffRecords(a, b);
  assert.deepEqual(d, {
    fieldsChanged: ["aws_secret_access_key", "aws_access_key_id", "CreateDate"],
    propertiesChanged: ["title"],
  });
  assert.ok(!JSON.stringify(d).includes("S3CR3T"));
  assert.deepEqual(diffRecords(a, structuredClone(a)), { fieldsChanged: [], propertiesChanged: [] });
});

test("two fields with one name are told apart by position", () => {
  const a = newRecord("login", "x");
  a.custom.push({ type: "url", value: ["a"] }, { type: "url", value: ["b"] });
  const b = structuredClone(a);
  b.custom[1]!.value = ["c"];
  assert.deepEqual(diffRecords(a, b).fieldsChanged, ["url#3"]);
});
