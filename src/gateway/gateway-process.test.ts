/**
 * `rekey gateway` as it runs in production: the real bundled CLI in a child process, the real engine,
 * against the sandbox served by this test process (so only async spawns here), on a real vault that this
 * process reads in parallel to watch the history. Timings are only ever lower bounds.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { buildGatewayParams, GATEWAY_PARAM_KEYS } from "../pam-protocol/script-params.js";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { openVault } from "../stores/sqlite/sqlite-open.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import { BIN, freshHome, type NodeChild, rekeyAsync, spawnNode } from "../testing/cli.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import type { RotationAttempt } from "./history-model.js";
import { parseAttempt } from "./history-schema.js";
import { parseSchedule } from "./schedule.js";
import { setRecordSchedule } from "./schedule-field.js";

let sandbox: Sandbox;
const stores: SqliteVaultStore[] = [];
const children: NodeChild["child"][] = [];
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of stores) s.close();
  await sandbox.close();
});

interface Setup {
  home: string;
  env: NodeJS.ProcessEnv;
  store: SqliteVaultStore;
  userUid: string;
  adminUid: string;
  configUid: string;
  /** Every secret this setup knows (for "never in logs/output" checks). */
  secrets: string[];
}

/** A vault with an admin credential record, a PAM configuration and one pamUser for a fresh IAM user. */
async function setup(
  name: string,
  opts: { schedule: string; fields?: Record<string, string>; sandbox?: Sandbox },
): Promise<Setup> {
  const sb = opts.sandbox ?? sandbox;
  const { home, env } = freshHome();
  const store = await openVault(join(home, "vault.db"), { keyFile: env.REKEY_KEY_FILE! });
  stores.push(store);
  sb.admin.createUser(name);
  const first = sb.admin.createAccessKey(name);
  const admin = newRecord("login", `${name} admin`);
  setFieldValue(admin, "aws_access_key_id", sb.root.accessKeyId, { type: "text" });
  setFieldValue(admin, "aws_secret_access_key", sb.root.secretAccessKey, { type: "secret" });
  const adminUid = store.createRecord(admin, { actor: "test" }).uid;
  const config = newRecord("pamAwsConfiguration", `${name} AWS`);
  setFieldValue(config, "awsId", sb.accountId);
  const configUid = store.createRecord(config, { actor: "test" }).uid;
  let user = newRecord("pamUser", name);
  setFieldValue(user, "login", name);
  setFieldValue(user, "password", "initial-dummy-password");
  setFieldValue(user, "aws_access_key_id", first.accessKeyId, { type: "text" });
  setFieldValue(user, "aws_secret_access_key", first.secretAccessKey, { type: "secret" });
  setFieldValue(user, "rotation_credentials", adminUid);
  setFieldValue(user, "pam_configuration", configUid);
  for (const [k, v] of Object.entries(opts.fields ?? {})) setFieldValue(user, k, v);
  user = setRecordSchedule(user, parseSchedule(opts.schedule));
  const userUid = store.createRecord(user, { actor: "test" }).uid;
  return {
    home,
    env: { ...env, AWS_EC2_METADATA_DISABLED: "true" },
    store,
    userUid,
    adminUid,
    configUid,
    secrets: [sb.root.secretAccessKey, first.secretAccessKey],
  };
}

function startGateway(s: Setup, args: string[], sb: Sandbox = sandbox): NodeChild {
  const g = spawnNode(
    [BIN, "gateway", "--endpoint-url", sb.endpoint, "--tick", "0.2", "--jitter", "0", ...args],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, REKEY_LOG_LEVEL: "info", ...s.env } },
  );
  children.push(g.child);
  return g;
}

async function stopGateway(g: NodeChild): Promise<void> {
  g.child.kill("SIGTERM");
  const { code, signal } = await g.exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, `exit 0 on SIGTERM: ${g.output().stderr}`);
}

function history(s: Setup): RotationAttempt[] {
  return s.store.listRotationHistory({ recordUid: s.userUid }).map(parseAttempt);
}

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false,
  g?: NodeChild,
  ms = 30_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${g?.output().stderr ?? ""}`);
    await sleep(100);
  }
}

const succeeded = (s: Setup) => history(s).filter((e) => e.outcome === "succeeded");

/** The vault's key is the IAM user's only key, and every secret the setup knows stays out of `text`. */
function assertVaultKeyIsLive(s: Setup, name: string, sb: Sandbox = sandbox): string {
  const record = s.store.getRecord(s.userUid)!.record;
  const keyId = getFieldValue(record, "aws_access_key_id");
  assert.deepEqual(
    sb.admin.listKeys(name).map((k) => [k.accessKeyId, k.status]),
    [[keyId, "Active"]],
  );
  return getFieldValue(record, "aws_secret_access_key")!;
}

function assertNoSecrets(texts: string[], secrets: string[]): void {
  for (const secret of secrets) {
    for (const t of texts) assert.ok(!t.includes(secret), "a secret leaked into output/logs/history");
  }
}

test("schedules fire; SIGTERM exits 0; a restart neither loses nor doubles a rotation", async () => {
  const name = "gw-every";
  const s = await setup(name, { schedule: "every 2s" });
  const first = startGateway(s, []);
  await waitFor("three rotations", () => succeeded(s).length >= 3 && true, first);
  await stopGateway(first);
  const before = succeeded(s);
  assert.equal(before[0]?.trigger, "startup-catch-up", "never rotated: due at start");
  assert.ok(before.slice(1).every((e) => e.trigger === "schedule"));

  const second = startGateway(s, []);
  await waitFor("a rotation after the restart", () => succeeded(s).length > before.length && true, second);
  await stopGateway(second);

  const all = succeeded(s);
  for (let i = 1; i < all.length; i++) {
    const gap = Date.parse(all[i]!.startedAt) - Date.parse(all[i - 1]!.endedAt!);
    assert.ok(
      gap >= 1900,
      `rotation ${i + 1} came ${gap} ms after the previous one ended (schedule: every 2s)`,
    );
    // Each rotation deleted the key the previous one created: none happened outside the history.
    assert.deepEqual(all[i]!.keyIds.deleted, [all[i - 1]!.keyIds.created]);
  }
  assert.equal(history(s).length, all.length, "no failed or skipped attempt");
  const secret = assertVaultKeyIsLive(s, name);
  assert.equal(
    getFieldValue(s.store.getRecord(s.userUid)!.record, "aws_access_key_id"),
    all.at(-1)!.keyIds.created,
  );
  assertNoSecrets(
    [first.output().stderr, second.output().stderr, first.output().stdout, JSON.stringify(all)],
    [...s.secrets, secret],
  );
  const audit = s.store
    .listAudit({ recordUid: s.userUid })
    .filter((a) => a.action === "gateway.rotation.succeeded");
  assert.equal(audit.length, all.length, "each history entry is in the audit log");
});

test("runs missed while the gateway was down catch up once at start", async () => {
  const s = await setup("gw-missed", {
    schedule: "every 3s",
    fields: { CreateDate: new Date(Date.now() - 3_600_000).toISOString() },
  });
  const g = startGateway(s, []);
  const [catchUp] = await waitFor("the catch-up", () => succeeded(s).length >= 1 && succeeded(s), g);
  assert.equal(catchUp?.trigger, "startup-catch-up");
  await sleep(1500);
  assert.equal(history(s).length, 1, "an hour of missed 3 s slots is one run");
  const next = await waitFor("the next slot", () => succeeded(s)[1], g);
  assert.equal(next.trigger, "schedule");
  assert.ok(Date.parse(next.startedAt) - Date.parse(catchUp!.endedAt!) >= 2900);
  await stopGateway(g);
});

/**
 * Attach a post-rotation script that touches `<marks>.started`, works `ms`, then touches `<marks>.done` and
 * says "slow script finished"; returns `marks`.
 */
async function addSlowScript(s: Setup, name: string, ms: number): Promise<string> {
  const marks = join(s.home, "marks");
  const script = join(s.home, "slow.mjs");
  writeFileSync(
    script,
    `import { writeFileSync } from "node:fs";
writeFileSync(${JSON.stringify(`${marks}.started`)}, "");
await new Promise((r) => setTimeout(r, ${ms}));
writeFileSync(${JSON.stringify(`${marks}.done`)}, "");
console.log("slow script finished");
`,
  );
  const add = await rekeyAsync(["record", "script", "add", name, script, "--command", "node"], {
    env: s.env,
  });
  assert.equal(add.code, 0, add.stderr);
  return marks;
}

test("SIGTERM waits for the rotation in flight (its scripts included), then exits 0", async () => {
  const name = "gw-sigterm";
  const s = await setup(name, { schedule: "every 1h" });
  const marks = await addSlowScript(s, name, 1500);
  const g = startGateway(s, []);
  await waitFor("the script to start", () => existsSync(`${marks}.started`), g);
  assert.equal(existsSync(`${marks}.done`), false);
  g.child.kill("SIGTERM");
  const { code, signal } = await g.exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, g.output().stderr);
  assert.ok(existsSync(`${marks}.done`), "the in-flight work finished before the exit");
  const [entry] = history(s);
  assert.equal(entry?.outcome, "succeeded");
  assert.equal(entry?.scripts[0]?.success, true);
  assert.match(entry?.scripts[0]?.stdout ?? "", /slow script finished/);
  assertVaultKeyIsLive(s, name);
  assert.match(g.output().stderr, /stopping: no new work/);
});

test("a gateway SIGKILLed mid-attempt: the restart records the attempt and does not rotate again", async () => {
  const name = "gw-sigkill";
  const s = await setup(name, { schedule: "every 1h" });
  const marks = await addSlowScript(s, name, 3000);
  const killed = startGateway(s, []);
  await waitFor("the script to start", () => existsSync(`${marks}.started`), killed);
  killed.child.kill("SIGKILL");
  await killed.exited;
  assert.deepEqual(history(s), [], "killed before its history entry");
  assertVaultKeyIsLive(s, name);
  const rotatedKey = getFieldValue(s.store.getRecord(s.userUid)!.record, "aws_access_key_id");

  const restarted = startGateway(s, []);
  const [entry] = await waitFor(
    "the interrupted attempt's entry",
    () => history(s).length > 0 && history(s),
    restarted,
  );
  await sleep(1000);
  await stopGateway(restarted);
  assert.equal(history(s).length, 1, "not rotated again: the slot was done");
  assert.equal(entry?.outcome, "succeeded");
  assert.equal(entry?.keyIds.created, rotatedKey);
  assert.equal(entry?.error?.kind, "interrupted");
  assert.match(entry?.error?.message ?? "", /scripts may not have run/);
  assert.equal(getFieldValue(s.store.getRecord(s.userUid)!.record, "aws_access_key_id"), rotatedKey);
  assertVaultKeyIsLive(s, name);
});

test("the script gets exactly the documented stdin line (every key checked); rotation_mode=scripts-only runs only the scripts", async () => {
  const name = "gw-stdin";
  const s = await setup(name, { schedule: "every 1h" });
  const received = join(s.home, "received.line");
  const script = join(s.home, "check-stdin.mjs");
  writeFileSync(script, checkScript(received));
  const add = await rekeyAsync(
    ["record", "script", "add", name, script, "--command", "node", "--attach", `${name} admin`],
    { env: s.env },
  );
  assert.equal(add.code, 0, add.stderr);
  const keysBefore = sandbox.admin.listKeys(name).map((k) => k.accessKeyId);

  // 1. A rotation, then the script.
  const once = startGateway(s, ["--once"]);
  const done = await once.exited;
  assert.equal(done.code, 0, once.output().stderr + once.output().stdout);
  const [entry] = history(s);
  assert.equal(entry?.mode, "rotate");
  assert.equal(entry?.scripts[0]?.success, true, `the script's own checks: ${entry?.scripts[0]?.stderr}`);
  const line = readFileSync(received, "utf8");
  const user = s.store.getRecord(s.userUid)!;
  const versions = s.store.history(s.userUid);
  const newPassword = getFieldValue(user.record, "password")!;
  const oldPassword = getFieldValue(
    versions.filter((v) => getFieldValue(v.record, "password") !== newPassword).at(-1)!.record,
    "password",
  )!;
  assert.equal(oldPassword, "initial-dummy-password");
  const expected = buildGatewayParams({
    providerRecordUid: s.configUid,
    resourceRecordUid: "",
    userRecordUid: s.userUid,
    newPassword,
    oldPassword,
    user: name,
    records: [
      { uid: s.configUid, record: s.store.getRecord(s.configUid)!.record },
      { uid: s.adminUid, record: s.store.getRecord(s.adminUid)!.record },
      { uid: s.userUid, record: user.record },
    ],
  });
  assert.equal(line, expected, "byte for byte the Gateway's line");
  const decoded = JSON.parse(Buffer.from(line, "base64").toString("utf8"));
  assert.deepEqual(Object.keys(decoded), [...GATEWAY_PARAM_KEYS]);
  const records = JSON.parse(Buffer.from(decoded.records, "base64").toString("utf8"));
  assert.equal(records[2].aws_access_key_id, entry?.keyIds.created, "the user record as rotated");
  const stdout = entry?.scripts[0]?.stdout ?? "";
  assert.match(stdout, /newPassword is \[REDACTED\]/, "known secrets are redacted from script output");
  const secret = assertVaultKeyIsLive(s, name);
  assertNoSecrets(
    [JSON.stringify(history(s)), once.output().stderr, once.output().stdout],
    [...s.secrets, secret, newPassword],
  );
  assert.notDeepEqual(
    sandbox.admin.listKeys(name).map((k) => k.accessKeyId),
    keysBefore,
  );

  // 2. rotation_mode = scripts-only: the scripts run, the keys stay.
  const r = s.store.getRecord(s.userUid)!;
  const noop = structuredClone(r.record);
  setFieldValue(noop, "rotation_mode", "scripts-only");
  s.store.saveRecord(s.userUid, noop, { expectedRevision: r.revision, actor: "test" });
  const keysNow = sandbox.admin.listKeys(name).map((k) => k.accessKeyId);
  const manual = startGateway(s, ["--once", "--rotate", name, "--json"]);
  const manualDone = await manual.exited;
  assert.equal(manualDone.code, 0, manual.output().stderr);
  const printed = JSON.parse(manual.output().stdout) as RotationAttempt[];
  assert.deepEqual(
    printed.map((a) => [a.trigger, a.mode, a.outcome, a.keyIds.created]),
    [["manual", "scripts-only", "succeeded", null]],
  );
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => k.accessKeyId),
    keysNow,
    "scripts-only: IAM untouched",
  );
  assert.equal(printed[0]?.scripts[0]?.success, true, printed[0]?.scripts[0]?.stderr);
  // The script saw a fresh newPassword and the record keeps it.
  const seen = JSON.parse(Buffer.from(readFileSync(received, "utf8"), "base64").toString("utf8"));
  assert.equal(seen.oldPassword, newPassword);
  const kept = getFieldValue(s.store.getRecord(s.userUid)!.record, "password");
  assert.equal(seen.newPassword, kept);
});

test("a failed rotation is retried, then recorded and notified; the next slot succeeds; webhooks reach a local receiver", async () => {
  // A sandbox of its own: this test makes IAM fail everything for a while.
  const sb = await startSandbox({ env: {} });
  const hooks: Array<{ path: string; body: Record<string, unknown> }> = [];
  let refusedOnce = false;
  const receiver: Server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      // The JSON hook is down for its first request: the notice must be retried.
      if (req.url === "/json" && !refusedOnce) {
        refusedOnce = true;
        res.writeHead(503).end();
        return;
      }
      hooks.push({ path: req.url ?? "", body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const port = (receiver.address() as AddressInfo).port;
  try {
    const name = "gw-fail";
    const s = await setup(name, { schedule: "every 2s", sandbox: sb });
    const configFile = join(s.home, "gateway.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        retry: { maxAttempts: 3, baseDelaySeconds: 0.2, maxDelaySeconds: 0.4 },
        engine: { awsRetry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } },
        webhooks: [
          { url: `http://127.0.0.1:${port}/json`, baseDelayMs: 50, maxDelayMs: 100 },
          { url: `http://127.0.0.1:${port}/slack`, format: "slack" },
        ],
      }),
      { mode: 0o600 },
    );
    sb.knobs.set({ errorRate: 1 });
    const g = startGateway(s, ["--config", configFile], sb);
    const failed = await waitFor("the final failure", () => history(s).find((e) => e.final), g);
    sb.knobs.set({ errorRate: 0 });
    const tries = history(s);
    assert.deepEqual(
      tries.map((e) => [e.attempt, e.outcome, e.final]),
      [
        [1, "failed", false],
        [2, "failed", false],
        [3, "failed", true],
      ],
    );
    assert.equal(failed.error?.kind, "aws");
    for (let i = 1; i < tries.length; i++) {
      assert.ok(
        Date.parse(tries[i]!.startedAt) >= Date.parse(tries[i - 1]!.nextAttemptAt!),
        "retried with backoff",
      );
      assert.equal(tries[i]!.slot, tries[0]!.slot, "a retry serves the same slot");
    }
    const ok = await waitFor("the next slot's success", () => succeeded(s)[0], g);
    assert.equal(ok.attempt, 1);
    await waitFor("four notices", () => hooks.length >= 4 && true, g);
    await stopGateway(g);

    const json = hooks.filter((h) => h.path === "/json").map((h) => h.body);
    assert.deepEqual(
      json.map((b) => b.event),
      ["rotation.failed", "rotation.succeeded"],
      "retries stay quiet; one failure and one success",
    );
    assert.deepEqual(json[0]?.record, { uid: s.userUid, title: name });
    assert.equal(json[0]?.user, name);
    assert.match(String(json[0]?.error), /ServiceFailure|InternalFailure|500/);
    assert.deepEqual((json[1]?.keyIds as { created: string } | undefined)?.created, ok.keyIds.created);
    const slack = hooks.filter((h) => h.path === "/slack").map((h) => h.body);
    assert.equal(slack.length, 2);
    assert.match(String(slack[1]?.text), new RegExp(`rotated the access key of IAM user \\*${name}\\*`));
    const secret = assertVaultKeyIsLive(s, name, sb);
    assertNoSecrets([JSON.stringify(hooks), g.output().stderr], [...s.secrets, secret]);

    const cli = await rekeyAsync(["history", name], { env: s.env });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /failed \(retry/);
    assert.match(cli.stdout, /succeeded/);
  } finally {
    await new Promise<void>((r) => receiver.close(() => r()));
    receiver.closeAllConnections();
    await sb.close();
  }
});

/** A post-rotation script that checks every documented key of its stdin line and keeps the line. */
function checkScript(out: string): string {
  return `import { writeFileSync } from "node:fs";
const KEYS = ${JSON.stringify(GATEWAY_PARAM_KEYS)};
let data = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) {
  data += chunk;
  if (data.includes("\\n")) break;
}
const line = data.split("\\n")[0];
const problems = [];
const p = JSON.parse(Buffer.from(line, "base64").toString("utf8"));
if (JSON.stringify(Object.keys(p)) !== JSON.stringify(KEYS)) problems.push("keys: " + Object.keys(p).join(","));
for (const k of KEYS) {
  if (typeof p[k] !== "string") problems.push(k + " is not a string");
  else if (k !== "resourceRecordUid" && !p[k]) problems.push(k + " is empty");
}
if (p.resourceRecordUid !== "") problems.push("resourceRecordUid is not empty for an IAM user");
if (p.newPassword === p.oldPassword) problems.push("newPassword equals oldPassword");
const records = JSON.parse(Buffer.from(p.records, "base64").toString("utf8"));
if (!Array.isArray(records) || records.length !== 3) problems.push("records is not an array of 3");
const uids = records.map((r) => r.uid);
if (uids[0] !== p.providerRecordUid) problems.push("records[0] is not the configuration");
if (uids[2] !== p.userRecordUid) problems.push("the last record is not the user");
const admin = records[1];
if (!admin.aws_access_key_id || !admin.aws_secret_access_key) problems.push("no admin credentials");
const user = records[2];
if (user.login !== p.user) problems.push("user differs from the record's login");
if (!String(user.aws_access_key_id).startsWith("AKIA")) problems.push("no aws_access_key_id");
if (!user.aws_secret_access_key) problems.push("no aws_secret_access_key");
if ("rotationScripts" in user) problems.push("rotationScripts was not left out");
for (const r of records) if (typeof r.title !== "string" || !r.uid) problems.push("a record without uid/title");
if (process.argv.length !== 2) problems.push("argv has " + process.argv.length + " entries");
const extra = Object.keys(process.env).filter((k) => !["PATH", "HOME", "LANG"].includes(k));
if (extra.length) problems.push("environment not minimal: " + extra.join(","));
writeFileSync(${JSON.stringify(out)}, line);
console.log("newPassword is " + p.newPassword);
console.log("admin secret is " + admin.aws_secret_access_key);
if (problems.length) {
  console.error(problems.join("\\n"));
  process.exit(1);
}
`;
}
