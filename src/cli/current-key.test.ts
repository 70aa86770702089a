/** The pure parts of the application commands: which key a record gives, and what each command makes of it. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import type { RekeyError } from "../errors.js";
import { awsUserTemplateRecord } from "../templates/aws-user.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { credentialProcessJson, ttlOption } from "./commands/credential-process.js";
import { exportLines, shellQuote, terminalRefusal } from "./commands/env.js";
import { childEnvironment, exitStatus } from "./commands/exec.js";
import { currentKeyOf, keyEnvironment, regionOption } from "./current-key.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY'EXAMPLEKEY";

function stored(type: string, fields: Record<string, string>): StoredRecord {
  const record = newRecord(type, "alice (AWS)");
  for (const [k, v] of Object.entries(fields)) setFieldValue(record, k, v);
  return { uid: "uid-1", record, revision: 1 } as unknown as StoredRecord;
}

const withKey = { login: "alice", aws_access_key_id: "AKIAOLD", aws_secret_access_key: SECRET };

test("currentKeyOf: a pamUser's key and region; the secret stays redacted", () => {
  const key = currentKeyOf(stored("pamUser", { ...withKey, aws_region: "eu-west-1" }));
  assert.equal(key.accessKeyId, "AKIAOLD");
  assert.equal(key.secret.reveal(), SECRET);
  assert.equal(key.region, "eu-west-1");
  assert.equal(JSON.stringify(key).includes(SECRET), false);
});

test("currentKeyOf: the seed's login template works once it holds a key; a placeholder is no key", () => {
  const template = awsUserTemplateRecord({ login: "alice" });
  const s = { uid: "t", record: template, revision: 1 } as unknown as StoredRecord;
  assert.throws(
    () => currentKeyOf(s),
    (e: RekeyError) =>
      /has no current access key/.test(e.message) &&
      e.exitCode === 3 &&
      /rekey rotate "AWS IAM user access key/.test(e.hint ?? ""),
  );
  setFieldValue(template, "aws_access_key_id", "AKIANEW");
  setFieldValue(template, "aws_secret_access_key", SECRET);
  assert.equal(currentKeyOf(s).accessKeyId, "AKIANEW");
});

test("currentKeyOf refuses: another record type, a missing half, a bad region", () => {
  assert.throws(
    () => currentKeyOf(stored("login", { aws_access_key_id: "AKIA", aws_secret_access_key: SECRET })),
    {
      message: /is a login record, not the pamUser record/,
    },
  );
  assert.throws(() => currentKeyOf(stored("pamUser", { ...withKey, aws_secret_access_key: "none" })), {
    message: /has no aws_secret_access_key/,
  });
  assert.throws(() => currentKeyOf(stored("pamUser", { ...withKey, aws_access_key_id: "" })), {
    message: /has no aws_access_key_id/,
  });
  assert.throws(() => currentKeyOf(stored("pamUser", { ...withKey, aws_region: "mars" })), {
    message: /"mars" is not an AWS region/,
  });
  assert.throws(() => regionOption("nowhere"), /--region "nowhere"/);
  assert.equal(regionOption(undefined), undefined);
});

test("keyEnvironment: the pair, and the region in both spellings only when known", () => {
  const key = currentKeyOf(stored("pamUser", withKey));
  assert.deepEqual(Object.keys(keyEnvironment(key, undefined)), [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
  ]);
  const env = keyEnvironment(key, "us-west-2");
  assert.equal(env.AWS_REGION, "us-west-2");
  assert.equal(env.AWS_DEFAULT_REGION, "us-west-2");
});

test("credentialProcessJson: exactly the four members, Expiration in whole seconds (UTC)", () => {
  const key = currentKeyOf(stored("pamUser", withKey));
  const text = credentialProcessJson(key, new Date("2030-01-02T03:04:05.678Z"));
  assert.deepEqual(JSON.parse(text), {
    Version: 1,
    AccessKeyId: "AKIAOLD",
    SecretAccessKey: SECRET,
    Expiration: "2030-01-02T03:04:05Z",
  });
  assert.equal(ttlOption(undefined), 15 * 60_000);
  assert.equal(ttlOption("1h"), 3_600_000);
  assert.throws(() => ttlOption("30s"), /too short/);
  assert.throws(() => ttlOption("soon"), /not a duration/);
});

test("env: lines a POSIX shell evals back to the exact values (quotes included)", () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  const vars = { AWS_ACCESS_KEY_ID: "AKIAOLD", AWS_SECRET_ACCESS_KEY: SECRET };
  const text = exportLines(vars);
  assert.match(text, /^export AWS_ACCESS_KEY_ID='AKIAOLD'\n/);
  assert.match(text, /\nunset AWS_SESSION_TOKEN .*AWS_PROFILE/);
  const r = spawnSync(
    "/bin/sh",
    [
      "-c",
      `${text}printf '%s|%s|%s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "\${AWS_SESSION_TOKEN-unset}"`,
    ],
    { encoding: "utf8", env: { PATH: process.env.PATH, AWS_SESSION_TOKEN: "other" } },
  );
  assert.equal(r.stdout, `AKIAOLD|${SECRET}|unset`);
});

test("env: a terminal is refused unless --force; a pipe is fine", () => {
  assert.match(terminalRefusal(true, false, "alice (AWS)")?.message ?? "", /output is a terminal/);
  assert.equal(terminalRefusal(true, true, "alice"), undefined);
  assert.equal(terminalRefusal(false, false, "alice"), undefined);
});

test("exec: the child's environment has the key, and neither the passphrase nor another identity", () => {
  const env = childEnvironment(
    {
      PATH: "/bin",
      REKEY_PASSPHRASE: "pass",
      REKEY_HOME: "/h",
      AWS_SESSION_TOKEN: "t",
      AWS_PROFILE: "p",
      AWS_ACCESS_KEY_ID: "AKIAOTHER",
      AWS_REGION: "us-east-1",
    },
    { AWS_ACCESS_KEY_ID: "AKIAOLD", AWS_SECRET_ACCESS_KEY: SECRET },
  );
  assert.deepEqual(env, {
    PATH: "/bin",
    REKEY_HOME: "/h",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIAOLD",
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
  assert.equal(exitStatus(0, null), 0);
  assert.equal(exitStatus(7, null), 7);
  assert.equal(exitStatus(null, "SIGTERM"), 143);
  assert.equal(exitStatus(null, "SIGKILL"), 137);
});
