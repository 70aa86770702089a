/**
 * Applications get the current key: `rekey aws-profile add` + `credential-process` (the real AWS SDK in a
 * child process, configured only through the AWS config file), `rekey exec` and `rekey env`, across a
 * rotation, against the sandbox served by this test process, on a real vault opened by a key file.
 */
import assert from "node:assert/strict";
import { exec, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, BIN, freshHome, rekeyAsync, spawnNode } from "../testing/cli.js";
import { FakeKeeper, serveFakeKeeperHttps } from "../testing/fake-keeper/index.js";
import { seedSandboxRotation, writeKsmConfig } from "../testing/keeper-script.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

// The SDK as an application has it: resolved here, imported by the child (the test itself never loads it).
const STS_MODULE = import.meta.resolve("@aws-sdk/client-sts");

/** A vault (key file) with an admin record and a pamUser record for a fresh IAM user with one key. */
async function setup(name: string) {
  const { env, home } = freshHome();
  const fullEnv: NodeJS.ProcessEnv = { ...env, AWS_EC2_METADATA_DISABLED: "true" };
  sandbox.admin.createUser(name);
  const first = sandbox.admin.createAccessKey(name);
  await addKeyRecords(fullEnv, "admin", sandbox.root, { name, key: first });
  return { env: fullEnv, home, first };
}

async function rotate(env: NodeJS.ProcessEnv, name: string): Promise<string> {
  // The sandbox reports last use to the millisecond: the application's calls just before the rotation are
  // then seen as before the new key, and the previous key is deleted, not held as still in use.
  const r = await rekeyAsync(["rotate", name, "--endpoint-url", sandbox.endpoint], {
    env: { ...env, REKEY_LAST_USE_RESOLUTION_MS: "1" },
  });
  assert.equal(r.code, 0, r.stderr);
  const keys = sandbox.admin.listKeys(name);
  assert.equal(keys.length, 1, `create-then-delete leaves the new key only: ${r.stdout}`);
  return keys[0]!.accessKeyId;
}

async function vaultSecret(env: NodeJS.ProcessEnv, name: string): Promise<string> {
  const r = await rekeyAsync(["record", "get", name, "aws_secret_access_key"], { env });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/**
 * An application: an STS client from the default chain (profile from AWS_PROFILE), one GetCallerIdentity per
 * step, one JSON line each. On SIGUSR2 it calls again with the same client (its cached key), then after the
 * refresh the SDK does at Expiration (forceRefresh: the same code path, without waiting 15 minutes), then with
 * a new client.
 */
const SDK_APP = `
const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(STS_MODULE)});
const call = async (step, client, options) => {
  try {
    const creds = await client.config.credentials(options);
    const id = await client.send(new GetCallerIdentityCommand({}));
    console.log(JSON.stringify({ step, ok: true, keyId: creds.accessKeyId, arn: id.Arn, expiration: creds.expiration }));
  } catch (e) {
    console.log(JSON.stringify({ step, ok: false, error: e.name }));
  }
};
const client = new STSClient({ maxAttempts: 1 });
await call("first", client);
if (process.argv.includes("--wait")) {
  const alive = setInterval(() => {}, 1000); // a signal listener alone does not keep node running
  await new Promise((resolve) => process.once("SIGUSR2", resolve));
  clearInterval(alive);
  await call("cached", client);
  await call("refreshed", client, { forceRefresh: true });
  await call("new-client", new STSClient({ maxAttempts: 1 }));
}
`;

type Step = { step: string; ok: boolean; keyId?: string; arn?: string; expiration?: string; error?: string };
const steps = (stdout: string): Step[] =>
  stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** The application's environment: nothing of rekey, only the AWS config file, the profile and the endpoint. */
function appEnv(dir: string, configFile: string, profile: string): NodeJS.ProcessEnv {
  const empty = join(dir, "empty-credentials");
  writeFileSync(empty, "");
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: empty,
    AWS_PROFILE: profile,
    AWS_ENDPOINT_URL_STS: sandbox.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

test("the AWS SDK, configured only by the profile aws-profile add wrote, uses the current key, and the new one after a rotation", async () => {
  const name = "apps-sdk";
  const { env, home, first } = await setup(name);
  const dir = mkdtempSync(join(tmpdir(), "rekey-app-"));
  const configFile = join(dir, "aws", "config");
  const add = await rekeyAsync(["aws-profile", "add", "alice", name, "--region", sandbox.region, "--json"], {
    env: { ...env, AWS_CONFIG_FILE: configFile },
  });
  assert.equal(add.code, 0, add.stderr);
  const written = JSON.parse(add.stdout);
  assert.equal(written.configFile, configFile);
  assert.equal(written.replaced, false);
  const config = readFileSync(configFile, "utf8");
  assert.match(config, /^\[profile alice\]\n/);
  assert.match(config, new RegExp(`\\nregion = ${sandbox.region}\\n`));
  assert.ok(
    config.includes(`REKEY_HOME=${home} `) && config.includes(`REKEY_KEY_FILE=${env.REKEY_KEY_FILE} `),
  );
  assert.ok(config.includes(` ${process.execPath} ${BIN} credential-process `), config);
  assert.ok(!config.includes(first.secretAccessKey), "no secret in the config file");
  assert.equal(statSync(configFile).mode & 0o777, 0o600);

  // A long-lived application, started before the rotation.
  const app = spawnNode(["--input-type=module", "-e", SDK_APP, "--", "--wait"], {
    env: appEnv(dir, configFile, "alice"),
    timeoutMs: 60_000,
  });
  while (!app.output().stdout.includes("\n") && app.child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const [before] = steps(app.output().stdout);
  assert.ok(before?.ok, `${JSON.stringify(before)} ${app.output().stderr}`);
  assert.equal(before.keyId, first.accessKeyId);
  assert.equal(before.arn, `arn:aws:iam::${sandbox.accountId}:user/${name}`);
  const expiresIn = Date.parse(before.expiration!) - Date.now();
  assert.ok(expiresIn > 14 * 60_000 && expiresIn <= 15 * 60_000, `Expiration = now + 15m (${expiresIn} ms)`);

  const newKeyId = await rotate(env, name);
  assert.notEqual(newKeyId, first.accessKeyId);
  const { AWS_PROFILE: _, ...noProfile } = appEnv(dir, join(dir, "no-config"), "default");
  const oldKeyApp = spawnNode(["--input-type=module", "-e", SDK_APP], {
    env: {
      ...noProfile, // with AWS_PROFILE set, the JS SDK ignores the key in the environment
      AWS_REGION: sandbox.region,
      AWS_ACCESS_KEY_ID: first.accessKeyId,
      AWS_SECRET_ACCESS_KEY: first.secretAccessKey,
    },
    timeoutMs: 60_000,
  });
  await oldKeyApp.exited;
  assert.deepEqual(
    steps(oldKeyApp.output().stdout),
    [{ step: "first", ok: false, error: "InvalidClientTokenId" }],
    "the old key no longer works",
  );

  app.child.kill("SIGUSR2");
  const { code } = await app.exited;
  assert.equal(code, 0, app.output().stderr);
  const [, cached, refreshed, fresh] = steps(app.output().stdout);
  assert.deepEqual(
    cached,
    { step: "cached", ok: false, error: "InvalidClientTokenId" },
    "until its Expiration the SDK keeps the deleted key (why --ttl matters)",
  );
  assert.equal(refreshed?.ok, true, JSON.stringify(refreshed));
  assert.equal(refreshed?.keyId, newKeyId, "the same client, refreshed, runs credential_process again");
  assert.equal(fresh?.ok, true);
  assert.equal(fresh?.keyId, newKeyId);
});

test("aws-profile add keeps the rest of the file, refuses to replace a profile without --force, and a passphrase-only vault", async () => {
  const name = "apps-profile";
  const { env, home } = await setup(name);
  const dir = mkdtempSync(join(tmpdir(), "rekey-app-"));
  const configFile = join(dir, "config");
  const original = "# mine\n[default]\nregion = eu-west-1 ; keep\n\n[profile other]\noutput = json\n";
  writeFileSync(configFile, original, { mode: 0o644 });

  const add = await rekeyAsync(["aws-profile", "add", "default", name, "--config-file", configFile], { env });
  assert.equal(add.code, 4, add.stderr);
  assert.match(add.stderr, /already has the profile "default"/);
  assert.match(add.stderr, /--force/);
  assert.equal(readFileSync(configFile, "utf8"), original, "nothing changed");

  const other = await rekeyAsync(["aws-profile", "add", "app", name, "--config-file", configFile], { env });
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /added profile "app" in .*config/);
  assert.match(other.stdout, /aws sts get-caller-identity --profile app/);
  const afterAdd = readFileSync(configFile, "utf8");
  assert.ok(afterAdd.startsWith(`${original}\n[profile app]\n`), afterAdd);
  assert.equal(statSync(configFile).mode & 0o777, 0o644, "an existing file keeps its mode");

  const forced = await rekeyAsync(
    ["aws-profile", "add", "default", name, "--config-file", configFile, "--force", "--json"],
    { env },
  );
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(forced.stdout).replaced, true);
  const afterForce = readFileSync(configFile, "utf8");
  assert.equal((afterForce.match(/^\[default\]$/gm) ?? []).length, 1);
  assert.ok(!afterForce.includes("eu-west-1"), "the old default section is replaced");
  assert.ok(afterForce.includes("[profile other]\noutput = json\n") && afterForce.startsWith("# mine\n"));

  // Only the passphrase opens the vault here: credential_process could not ask for it.
  const noKeyFile = join(dir, "config2");
  const refused = await rekeyAsync(["aws-profile", "add", "app", name, "--config-file", noKeyFile], {
    env: { REKEY_HOME: home, REKEY_PASSPHRASE: "correct horse battery staple" },
  });
  assert.equal(refused.code, 5, refused.stderr);
  assert.match(refused.stderr, /credential_process cannot ask for one/);
  assert.match(refused.stderr, /rekey vault add-key-file/);
  assert.equal(existsSync(noKeyFile), false);

  const bad = await rekeyAsync(["aws-profile", "add", "a b", name, "--config-file", noKeyFile], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"a b" is not a profile name/);
  const notUser = await rekeyAsync(["aws-profile", "add", "x", "admin", "--config-file", noKeyFile], { env });
  assert.equal(notUser.code, 2);
  assert.match(notUser.stderr, /is a login record, not the pamUser record/);
});

/** A script `rekey exec` runs: the key it was given, what it called STS with, what else it saw. */
const EXEC_APP = `
const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(STS_MODULE)});
const seen = {
  keyId: process.env.AWS_ACCESS_KEY_ID,
  region: process.env.AWS_REGION,
  defaultRegion: process.env.AWS_DEFAULT_REGION,
  passphrase: process.env.REKEY_PASSPHRASE ?? null,
  sessionToken: process.env.AWS_SESSION_TOKEN ?? null,
  profile: process.env.AWS_PROFILE ?? null,
  args: process.argv.slice(1),
};
try {
  const id = await new STSClient({ maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ ...seen, ok: true, arn: id.Arn }));
} catch (e) {
  console.log(JSON.stringify({ ...seen, ok: false, error: e.name }));
}
process.exitCode = Number(process.argv.at(-1)) || 0;
`;

test("rekey exec: the child calls STS with the current key (old before, new after a rotation); its exit code is rekey's", async () => {
  const name = "apps-exec";
  const { env, first } = await setup(name);
  const execEnv = {
    ...env,
    AWS_ENDPOINT_URL_STS: sandbox.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    REKEY_PASSPHRASE: "correct horse battery staple",
    AWS_SESSION_TOKEN: "a-token-of-other-credentials",
    AWS_PROFILE: "someone-else",
  };
  const args = ["exec", name, "--region", sandbox.region, "--", process.execPath, "--input-type=module"];
  const run = (exit: string) =>
    rekeyAsync([...args, "-e", EXEC_APP, "--", "--flag", "-x", exit], { env: execEnv });

  const beforeRun = await run("0");
  assert.equal(beforeRun.code, 0, beforeRun.stderr);
  const seen = JSON.parse(beforeRun.stdout);
  assert.deepEqual(seen, {
    keyId: first.accessKeyId,
    region: sandbox.region,
    defaultRegion: sandbox.region,
    passphrase: null,
    sessionToken: null,
    profile: null,
    args: ["--flag", "-x", "0"],
    ok: true,
    arn: `arn:aws:iam::${sandbox.accountId}:user/${name}`,
  });

  const newKeyId = await rotate(env, name);
  const afterRun = await run("7");
  assert.equal(afterRun.code, 7, "rekey exits with the child's code");
  const after = JSON.parse(afterRun.stdout);
  assert.equal(after.keyId, newKeyId);
  assert.equal(after.ok, true, afterRun.stdout);
  for (const out of [beforeRun, afterRun]) {
    assert.ok(!out.stderr.includes(first.secretAccessKey), "rekey prints no secret");
  }

  const killed = await rekeyAsync(["exec", name, "--", "/bin/sh", "-c", "kill -TERM $$"], { env });
  assert.equal(killed.code, 128 + 15, "killed by SIGTERM: 143, as a shell says");
  const missing = await rekeyAsync(["exec", name, "--", "no-such-command-rekey"], { env });
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /command not found: no-such-command-rekey/);
});

test("rekey exec passes Ctrl-C / SIGTERM on to the child and exits as it does", async () => {
  const name = "apps-exec-signal";
  const { env } = await setup(name);
  const child = `process.on("SIGTERM", () => { console.log("child got SIGTERM"); process.exit(42); });
console.log("ready"); setInterval(() => {}, 1000);`;
  const run = spawnNode([BIN, "exec", name, "--", process.execPath, "-e", child], {
    env: { PATH: process.env.PATH, REKEY_LOG_LEVEL: "silent", ...env },
    timeoutMs: 30_000,
  });
  while (!run.output().stdout.includes("ready") && run.child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 20));
  }
  run.child.kill("SIGTERM");
  const { code } = await run.exited;
  assert.equal(code, 42, run.output().stderr);
  assert.match(run.output().stdout, /child got SIGTERM/);
});

test("rekey env: eval-able lines for a pipe; a terminal is refused unless --force", async (t) => {
  const name = "apps-env";
  const { env } = await setup(name);
  const secret = await vaultSecret(env, name);
  const piped = await rekeyAsync(["env", name, "--region", "eu-west-1"], { env });
  assert.equal(piped.code, 0, piped.stderr);
  const sh = spawnSync(
    "/bin/sh",
    [
      "-c",
      `eval "$1" && printf '%s %s %s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION"`,
      "sh",
      piped.stdout,
    ],
    { encoding: "utf8" },
  );
  const keyId = sandbox.admin.listKeys(name)[0]!.accessKeyId;
  assert.equal(sh.stdout, `${keyId} ${secret} eu-west-1`);

  // A real terminal: util-linux `script` runs rekey on a pseudo-terminal.
  const probe = spawnSync("script", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0 || !/util-linux/.test(probe.stdout))
    return t.skip("util-linux script is not installed");
  const onTty = (extra: string) =>
    spawnSync("script", ["-qec", `${process.execPath} ${BIN} env ${name}${extra}`, "/dev/null"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, REKEY_LOG_LEVEL: "silent", ...env },
    });
  const refused = onTty("");
  assert.match(refused.stdout, /output is a terminal/);
  assert.ok(!refused.stdout.includes(secret), "nothing secret on the screen");
  const forced = onTty(" --force");
  assert.ok(forced.stdout.includes(`export AWS_SECRET_ACCESS_KEY='${secret}'`));
});

test("credential-process prints exactly the JSON; errors go to stderr; every read is audited without the secret", async () => {
  const name = "apps-audit";
  const { env } = await setup(name);
  const keyId = sandbox.admin.listKeys(name)[0]!.accessKeyId;
  const secret = await vaultSecret(env, name);

  const cp = await rekeyAsync(["credential-process", name, "--ttl", "1h"], { env });
  assert.equal(cp.code, 0, cp.stderr);
  const json = JSON.parse(cp.stdout);
  assert.equal(cp.stdout, `${JSON.stringify(json)}\n`, "one JSON line, nothing else");
  assert.deepEqual(Object.keys(json), ["Version", "AccessKeyId", "SecretAccessKey", "Expiration"]);
  assert.deepEqual([json.Version, json.AccessKeyId, json.SecretAccessKey], [1, keyId, secret]);
  const ttl = Date.parse(json.Expiration) - Date.now();
  assert.ok(ttl > 59 * 60_000 && ttl <= 3_600_000, `--ttl 1h (${ttl} ms)`);
  assert.equal(cp.stderr, "");

  const ex = await rekeyAsync(["exec", name, "--", "/bin/true"], { env });
  assert.equal(ex.code, 0, ex.stderr);
  const ev = await rekeyAsync(["env", name], { env });
  assert.equal(ev.code, 0, ev.stderr);

  const audit = await rekeyAsync(["audit", "list", "--json"], { env });
  assert.equal(audit.code, 0, audit.stderr);
  assert.ok(!audit.stdout.includes(secret), "the audit log never holds the secret");
  const reads = (
    JSON.parse(audit.stdout) as Array<{ action: string; actor: string; details: unknown }>
  ).filter((e) => e.action === "credential.read");
  assert.deepEqual(
    reads.map((e) => [e.actor, e.details]),
    [
      ["rekey credential-process", { command: "credential-process", accessKeyId: keyId }],
      ["rekey exec", { command: "exec", accessKeyId: keyId }],
      ["rekey env", { command: "env", accessKeyId: keyId }],
    ],
  );

  // No key yet (the template's placeholder), and a record that is not an IAM user's.
  const add = await rekeyAsync(
    ["record", "add", "--title", "no key", "--set", "login=nokey", "--set", "aws_access_key_id=-"],
    { env },
  );
  assert.equal(add.code, 0, add.stderr);
  for (const command of [["credential-process"], ["env"], ["exec"]]) {
    const tail = command[0] === "exec" ? ["--", "/bin/true"] : [];
    const r = await rekeyAsync([...command, "no key", ...tail], { env });
    assert.equal(r.code, 3, `${command[0]}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /record "no key" \(.*\) has no current access key/);
    assert.match(r.stderr, /fix: rotate it first.*rekey rotate "no key"/);
  }
  const admin = await rekeyAsync(["credential-process", "admin"], { env });
  assert.equal(admin.code, 2);
  assert.match(admin.stderr, /is a login record, not the pamUser record of an IAM user/);
  const unknown = await rekeyAsync(["credential-process", "nobody"], { env });
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no record with UID or title "nobody"/);
  const after = await rekeyAsync(["audit", "list", "--json"], { env });
  assert.equal(
    (JSON.parse(after.stdout) as Array<{ action: string }>).filter((e) => e.action === "credential.read")
      .length,
    3,
    "a refused read is not audited as a read",
  );
});

test("aws-profile add creates a missing config directory (0700) and file (0600)", async () => {
  const name = "apps-newdir";
  const { env } = await setup(name);
  const dir = mkdtempSync(join(tmpdir(), "rekey-app-"));
  mkdirSync(join(dir, "home"));
  const configFile = join(dir, "home", ".aws", "config");
  const r = await rekeyAsync(["aws-profile", "add", "default", name, "--config-file", configFile], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(join(dir, "home", ".aws")).mode & 0o777, 0o700);
  assert.equal(statSync(configFile).mode & 0o777, 0o600);
  assert.match(
    readFileSync(configFile, "utf8"),
    /^\[default\]\n# rekey: the current access key of record "apps-newdir"/,
  );
});

test("on a Keeper vault: credential-process reads the record through KSM; the profile names the KSM config and runs as the SDK runs it", async (t) => {
  const fake = new FakeKeeper();
  const served = await serveFakeKeeperHttps(fake);
  t.after(() => served.close());
  const dir = mkdtempSync(join(tmpdir(), "rekey-app-keeper-"));
  const ksmConfig = writeKsmConfig(fake, dir);
  const env = {
    REKEY_HOME: join(dir, "rekey"),
    REKEY_VAULT: `keeper:${ksmConfig}`,
    NODE_EXTRA_CA_CERTS: served.caFile,
  };
  const { userName, old, seeded } = seedSandboxRotation(fake, sandbox, "apps-keeper", { rootAdmin: true });
  const title = `${userName} (AWS IAM user)`;

  const cp = await rekeyAsync(["credential-process", title], { env });
  assert.equal(cp.code, 0, cp.stderr);
  const json = JSON.parse(cp.stdout);
  assert.deepEqual([json.AccessKeyId, json.SecretAccessKey], [old.accessKeyId, old.secretAccessKey]);

  const configFile = join(dir, "aws-config");
  const add = await rekeyAsync(["aws-profile", "add", "kp", title, "--config-file", configFile, "--json"], {
    env,
  });
  assert.equal(add.code, 0, add.stderr);
  const written = JSON.parse(add.stdout);
  assert.equal(written.record.uid, seeded.userUid);
  assert.ok(
    written.credentialProcess.includes(` REKEY_VAULT=keeper:${ksmConfig} `),
    written.credentialProcess,
  );
  assert.ok(written.credentialProcess.endsWith(` credential-process ${seeded.userUid}`));
  assert.ok(!readFileSync(configFile, "utf8").includes(old.secretAccessKey));

  // The app's environment has only what the line gives it (plus the fake server's CA, which a real Keeper needs not).
  const line = readFileSync(configFile, "utf8").match(/^credential_process = (.*)$/m)![1]!;
  // Run as the JS SDK runs it (child_process.exec), without blocking: this process serves the fake Keeper.
  const run = await promisify(exec)(line, {
    env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: served.caFile, REKEY_LOG_LEVEL: "silent" },
    timeout: 60_000,
  });
  assert.equal(JSON.parse(run.stdout).AccessKeyId, old.accessKeyId);
});
