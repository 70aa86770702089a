import assert from "node:assert/strict";
import { test } from "node:test";
import { Secret } from "../secret.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import { parseGatewayParams } from "./gateway-params.js";
import { buildGatewayParams, flattenRecord, GATEWAY_PARAM_KEYS, secretsOfParams } from "./script-params.js";

const decode = (b64: string) => JSON.parse(Buffer.from(b64, "base64").toString("utf8"));

function fixtures() {
  const config = newRecord("pamAwsConfiguration", "AWS prod");
  setFieldValue(config, "awsId", "123456789012");
  setFieldValue(config, "accessKeyId", "AKIAADMIN0000000000");
  setFieldValue(config, "accessSecretKey", "admin-secret-value-0123456789");
  const user = newRecord("pamUser", "alice (AWS)");
  setFieldValue(user, "login", "alice");
  setFieldValue(user, "aws_access_key_id", "AKIAALICE0000000000");
  setFieldValue(user, "aws_secret_access_key", "alice-secret-value-0123456789", { type: "secret" });
  setFieldValue(user, "rotationScripts", [{ fileRef: "F".repeat(22), recordRef: [], command: "node" }]);
  return { config, user };
}

test("records are flattened by src/keeper's flattenRecord: uid, title, fields by label, no rotationScripts", () => {
  const { user } = fixtures();
  const flat = flattenRecord("U".repeat(22), user);
  assert.deepEqual(Object.keys(flat).slice(0, 2), ["uid", "title"]);
  assert.equal(flat.title, "alice (AWS)");
  assert.equal(flat.login, "alice");
  assert.equal(flat.aws_secret_access_key, "alice-secret-value-0123456789");
  assert.equal("rotationScripts" in flat, false);
});

test("buildGatewayParams: exactly the seven documented keys, records base64 JSON array", () => {
  const { config, user } = fixtures();
  const line = buildGatewayParams({
    providerRecordUid: "C".repeat(22),
    userRecordUid: "U".repeat(22),
    newPassword: new Secret("new-secret-value-0123456789"),
    oldPassword: "old-secret-value-0123456789",
    user: "alice",
    records: [
      { uid: "C".repeat(22), record: config },
      { uid: "U".repeat(22), record: user },
    ],
  });
  assert.match(line, /^[A-Za-z0-9+/]+=*$/, "one base64 line");
  const params = decode(line);
  assert.deepEqual(Object.keys(params), [...GATEWAY_PARAM_KEYS]);
  assert.equal(params.providerRecordUid, "C".repeat(22));
  assert.equal(params.resourceRecordUid, "");
  assert.equal(params.userRecordUid, "U".repeat(22));
  assert.equal(params.newPassword, "new-secret-value-0123456789");
  assert.equal(params.oldPassword, "old-secret-value-0123456789");
  assert.equal(params.user, "alice");
  const records = decode(params.records);
  assert.ok(Array.isArray(records));
  assert.deepEqual(
    records.map((r: { uid: string }) => r.uid),
    ["C".repeat(22), "U".repeat(22)],
  );
  assert.equal(records[0].accessKeyId, "AKIAADMIN0000000000");
  assert.equal(records[1].aws_secret_access_key, "alice-secret-value-0123456789");

  // The parser a rekey script uses reads it back.
  const parsed = parseGatewayParams(line);
  assert.equal(parsed.user, "alice");
  assert.equal(parsed.newPassword?.reveal(), "new-secret-value-0123456789");
  assert.equal(parsed.userRecord?.aws_access_key_id, "AKIAALICE0000000000");
});

test("secretsOfParams: passwords, secret fields, the line and its records", () => {
  const { config, user } = fixtures();
  const input = {
    providerRecordUid: "c",
    userRecordUid: "u",
    newPassword: "new-secret-value-0123456789",
    oldPassword: null,
    user: "alice",
    records: [
      { uid: "c", record: config },
      { uid: "u", record: user },
    ],
  };
  const line = buildGatewayParams(input);
  const secrets = secretsOfParams(input, line);
  for (const s of [
    "new-secret-value-0123456789",
    "admin-secret-value-0123456789",
    "alice-secret-value-0123456789",
    "AKIAADMIN0000000000", // accessKeyId is a `secret` field in pamAwsConfiguration
    line,
    decode(line).records,
  ]) {
    assert.ok(secrets.includes(s), `includes ${s.slice(0, 12)}...`);
  }
  assert.ok(!secrets.includes("alice"), "logins are not secrets");
});
