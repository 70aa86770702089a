/**
 * The gateway over a Keeper vault: the real engine through KeeperVault and the official KSM SDK against the
 * in-process fake Keeper, the sandbox for IAM. History, journal and leases live in the local state directory.
 * Post-rotation scripts attached to the record in Keeper (file attachments) are downloaded through KSM and run.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, type TestContext, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { openKeeperVault } from "../stores/keeper/ksm-store.js";
import { FakeKeeper, serveFakeKeeperTrusted } from "../testing/fake-keeper/index.js";
import { rotateWithAdmin, seedSandboxRotation } from "../testing/keeper-script.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import { gatewayConfigSchema } from "./config.js";
import { createGateway, type Gateway } from "./gateway.js";
import { parseAttempt } from "./history-schema.js";
import { computeStatus } from "./status.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

let sandbox: Sandbox;
let dir: string;
before(async () => {
  sandbox = await startSandbox({ env: {} });
  dir = mkdtempSync(join(tmpdir(), "rekey-gateway-keeper-"));
});
after(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a scheduled pamUser in Keeper rotates once: new key saved in Keeper, one history entry, not again at the next tick", async (t) => {
  const fake = new FakeKeeper();
  const { userName, old, seeded: s } = seedSandboxRotation(fake, sandbox, "kgw", { rootAdmin: true });
  // The seed's record runs scripts only and names a Keeper file attachment: rotate instead, on a schedule.
  rotateWithAdmin(fake, s, "every 1h");
  const configPath = join(dir, "ksm.json");
  writeFileSync(configPath, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
  const stateDir = join(dir, "state");
  const vault = await openKeeperVault({ configPath, stateDir, queryFunction: fake.queryFunction });

  const gateway = createGateway({
    store: vault,
    config: gatewayConfigSchema.parse({ jitterSeconds: 0, engine: { endpointUrl: sandbox.endpoint } }),
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  });
  t.after(() => gateway.stop(0));
  await gateway.start({ loop: false });
  await gateway.idle();

  assert.equal(gateway.attempts.length, 1, JSON.stringify(gateway.attempts));
  const [attempt] = gateway.attempts;
  assert.equal(attempt?.outcome, "succeeded", JSON.stringify(attempt?.error));
  assert.equal(attempt?.trigger, "startup-catch-up");
  const saved = fake.recordData(s.userUid) as unknown as KeeperRecord;
  const newKey = getFieldValue(saved, "aws_access_key_id");
  assert.notEqual(newKey, old.accessKeyId);
  assert.equal(attempt?.keyIds.created, newKey);
  assert.deepEqual(attempt?.keyIds.deleted, [old.accessKeyId]);
  assert.deepEqual(
    sandbox.admin.listKeys(userName).map((k) => k.accessKeyId),
    [newKey],
    "IAM holds only the key Keeper holds",
  );
  assert.equal(fake.pending.size, 0, "no Keeper transaction left open");

  const history = (await vault.listRotationHistory({ recordUid: s.userUid })).map(parseAttempt);
  assert.deepEqual(
    history.map((h) => [h.outcome, h.keyIds.created]),
    [["succeeded", newKey]],
  );
  assert.equal(readdirSync(join(stateDir, "history")).length, 1, "kept in the local state directory");
  assert.deepEqual(await vault.listJournal(), [], "no attempt marker or rotation journal left behind");
  assert.ok((await vault.listAudit()).some((a) => a.action === "gateway.rotation.succeeded"));

  const before = fake.calls("get_secret").length;
  assert.equal(await gateway.tick(), 0, "not due again");
  assert.equal(fake.calls("get_secret").length - before, 1, "a tick reads Keeper once");
  await gateway.idle();
  assert.equal(gateway.attempts.length, 1);
  assert.equal((await vault.listRotationHistory()).length, 1);
  assert.equal(
    getFieldValue(fake.recordData(s.userUid) as unknown as KeeperRecord, "aws_access_key_id"),
    newKey,
  );

  const [status] = await computeStatus(vault);
  assert.equal(status?.keyId, newKey);
  assert.equal(status?.scheduleSource, "record");
  assert.equal(status?.lastOutcome?.outcome, "succeeded");
  assert.ok(status?.nextRotation && Date.parse(status.nextRotation) > Date.now(), "next run in the future");
});

/**
 * A pamUser in Keeper that rotates (NOOP False) and keeps the seed's `rotationScripts` field: its fileRef
 * names a file attachment of the record ("RekeyScriptFileRef0000"), attached here when `script` is given.
 * File downloads are HTTPS GETs even in-process, so the fake is also served over HTTPS and its test CA given
 * to the SDK (serveFakeKeeperTrusted).
 */
async function keeperUserWithScript(t: TestContext, script?: { name: string; content: string }) {
  const fake = new FakeKeeper();
  await serveFakeKeeperTrusted(t, fake);
  const { userName, old, seeded: s } = seedSandboxRotation(fake, sandbox, "kgs", { rootAdmin: true });
  const fileRef = "RekeyScriptFileRef0000";
  rotateWithAdmin(fake, s);
  if (script) fake.addFile(s.userUid, { ...script, type: "text/javascript", uid: fileRef });
  const caseDir = mkdtempSync(join(dir, "case-"));
  const configPath = join(caseDir, "ksm.json");
  writeFileSync(configPath, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
  const vault = await openKeeperVault({
    configPath,
    stateDir: join(caseDir, "state"),
    queryFunction: fake.queryFunction,
  });
  const gateway = createGateway({
    store: vault,
    config: gatewayConfigSchema.parse({ jitterSeconds: 0, engine: { endpointUrl: sandbox.endpoint } }),
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  });
  t.after(() => gateway.stop(0));
  return { fake, s, old, userName, fileRef, vault, gateway, caseDir };
}

/** Start the gateway without its loop, rotate `uid` now, wait: the one attempt it made. */
async function rotateOnce(gateway: Gateway, uid: string) {
  await gateway.start({ loop: false });
  await gateway.rotateNow([uid]);
  await gateway.idle();
  assert.equal(gateway.attempts.length, 1, JSON.stringify(gateway.attempts));
  return gateway.attempts[0];
}

test("a script attached to the pamUser in Keeper is downloaded through KSM and run after the rotation with the Gateway's stdin line", async (t) => {
  const out = join(dir, `script-line-${process.pid}-${Date.now()}.txt`);
  const content = [
    'import { writeFileSync } from "node:fs";',
    'let line = "";',
    'process.stdin.on("data", (c) => { line += c; });',
    `process.stdin.on("end", () => { writeFileSync(${JSON.stringify(out)}, line); console.log("line kept"); });`,
    "",
  ].join("\n");
  const { fake, s, old, userName, fileRef, vault, gateway } = await keeperUserWithScript(t, {
    name: "keep-line.mjs",
    content,
  });
  const attempt = await rotateOnce(gateway, s.userUid);
  assert.equal(attempt?.outcome, "succeeded", JSON.stringify(attempt));
  assert.equal(attempt?.error, null, JSON.stringify(attempt?.error));
  const newKey = getFieldValue(fake.recordData(s.userUid) as unknown as KeeperRecord, "aws_access_key_id");
  assert.ok(newKey && newKey !== old.accessKeyId);
  assert.deepEqual(
    sandbox.admin.listKeys(userName).map((k) => k.accessKeyId),
    [newKey],
  );
  assert.deepEqual(fake.downloads, [fileRef], "fetched from its Keeper download URL");

  const raw = readFileSync(out, "utf8");
  assert.ok(raw.endsWith("\n") && !raw.slice(0, -1).includes("\n"), "one line on stdin");
  const params = JSON.parse(Buffer.from(raw.trim(), "base64").toString("utf8")) as Record<string, unknown>;
  assert.equal(params.userRecordUid, s.userUid);
  assert.equal(params.providerRecordUid, s.configUid);
  assert.equal(params.user, userName);
  assert.equal(typeof params.newPassword, "string");
  assert.ok((params.newPassword as string).length > 0, "newPassword present");
  const records = JSON.parse(Buffer.from(String(params.records), "base64").toString("utf8")) as Array<{
    uid: string;
  }>;
  assert.deepEqual(
    records.map((r) => r.uid),
    [s.configUid, s.adminUid, s.userUid],
  );

  const [entry] = (await vault.listRotationHistory({ recordUid: s.userUid })).map(parseAttempt);
  assert.equal(entry?.outcome, "succeeded");
  assert.equal(entry?.scripts.length, 1);
  const [script] = entry?.scripts ?? [];
  assert.equal(script?.success, true, JSON.stringify(script));
  assert.equal(script?.exitCode, 0);
  assert.equal(script?.fileRef, fileRef);
  assert.equal(script?.stdout.trim(), "line kept");
  assert.match(script?.name ?? "", /^keep-line\.mjs \(/);
});

test("a script whose Keeper attachment is missing is reported (script-failed), naming the fileRef; the rotation stands", async (t) => {
  const { fake, s, old, userName, fileRef, vault, gateway } = await keeperUserWithScript(t);
  const attempt = await rotateOnce(gateway, s.userUid);
  assert.equal(attempt?.outcome, "script-failed", JSON.stringify(attempt));
  assert.equal(attempt?.error?.kind, "script");
  assert.match(
    attempt?.error?.message ?? "",
    /the key was rotated, but 1 of 1 post-rotation script\(s\) failed/,
  );
  const newKey = getFieldValue(fake.recordData(s.userUid) as unknown as KeeperRecord, "aws_access_key_id");
  assert.ok(newKey && newKey !== old.accessKeyId, "the new key is in Keeper");
  assert.deepEqual(
    sandbox.admin.listKeys(userName).map((k) => k.accessKeyId),
    [newKey],
    "and is the only key in IAM",
  );
  assert.equal(fake.pending.size, 0, "no Keeper transaction left open");

  const [entry] = (await vault.listRotationHistory({ recordUid: s.userUid })).map(parseAttempt);
  assert.equal(entry?.outcome, "script-failed");
  assert.equal(entry?.keyIds.created, newKey);
  const [script] = entry?.scripts ?? [];
  assert.equal(script?.success, false);
  assert.equal(script?.exitCode, null);
  assert.equal(script?.fileRef, fileRef);
  assert.match(
    script?.stderr ?? "",
    new RegExp(`script file ${fileRef} is neither a file attached to record ${s.userUid}`),
  );
  assert.deepEqual(fake.downloads, []);
});
