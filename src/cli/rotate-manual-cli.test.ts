/**
 * A manual `rekey rotate` delivers the key like the gateway (scripts, history, webhooks), and Ctrl-C
 * during it finishes or undoes the step in flight. The real bundled CLI in child processes, against the
 * sandbox served by this test process, on a real vault.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, BIN, freshHome, rekeyAsync, spawnNode } from "../testing/cli.js";

let sandbox: Sandbox;
const hooks: Array<{ event: string; user: string; error?: string }> = [];
let receiver: Server;
let hookUrl = "";
before(async () => {
  sandbox = await startSandbox({ env: {} });
  receiver = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      hooks.push(JSON.parse(body));
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
after(async () => {
  await sandbox.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

async function setup(name: string) {
  const { home, env } = freshHome();
  const fullEnv = { ...env, AWS_EC2_METADATA_DISABLED: "true", REKEY_GATEWAY_WEBHOOK_URL: hookUrl };
  sandbox.admin.createUser(name);
  const first = sandbox.admin.createAccessKey(name);
  const run = async (args: string[], input = "") => {
    const r = await rekeyAsync(args, { env: fullEnv, input });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  await addKeyRecords(fullEnv, "admin", sandbox.root, { name, key: first });
  return { home, env: fullEnv, first, run };
}

const endpoint = () => ["--endpoint-url", sandbox.endpoint];
const keyIds = (name: string) => sandbox.admin.listKeys(name).map((k) => k.accessKeyId);

test("rekey rotate runs the record's scripts, records the attempt (history, status) and notifies, like the gateway", async () => {
  const name = "manual-deliver";
  const { home, env, first, run } = await setup(name);
  const seen = join(home, "seen.txt");
  const script = join(home, "deploy.mjs");
  writeFileSync(
    script,
    `import { writeFileSync } from "node:fs";\nlet line = "";\nprocess.stdin.on("data", (d) => (line += d)).on("end", () => { writeFileSync(${JSON.stringify(seen)}, line); console.log("deployed"); });\n`,
  );
  await run(["record", "script", "add", name, script, "--command", "node"]);
  const r = await run(["rotate", name, ...endpoint()]);
  const [newKey] = keyIds(name);
  assert.notEqual(newKey, first.accessKeyId);
  assert.match(r.stdout, /✓ script .*deploy\.mjs.*: exit 0/);
  assert.match(r.stdout, /recorded as succeeded in the rotation history/);
  const params = JSON.parse(Buffer.from(readFileSync(seen, "utf8").trim(), "base64").toString("utf8"));
  assert.equal(params.user, name);
  const records = JSON.parse(Buffer.from(params.records, "base64").toString("utf8")) as Array<
    Record<string, unknown>
  >;
  assert.equal(records.at(-1)?.aws_access_key_id, newKey, "the script got the new key");

  const history = JSON.parse((await run(["history", name, "--json"])).stdout);
  assert.deepEqual(
    history.map((e: { trigger: string; outcome: string }) => [e.trigger, e.outcome]),
    [["manual", "succeeded"]],
  );
  const [status] = JSON.parse((await run(["status", "--json"])).stdout);
  assert.equal(status.lastOutcome.outcome, "succeeded");
  assert.equal(status.lastOutcome.trigger, "manual");
  assert.equal(status.keyId, newKey);
  assert.ok(hooks.some((h) => h.event === "rotation.succeeded" && h.user === name));

  // --no-scripts: rotated, recorded, the script not run.
  writeFileSync(seen, "untouched");
  await run(["rotate", name, "--no-scripts", ...endpoint()]);
  assert.equal(readFileSync(seen, "utf8"), "untouched");
  assert.equal(JSON.parse((await run(["history", name, "--json"])).stdout).length, 2);
  void env;
});

test("a failing script makes rekey rotate exit 8 (rotated, not delivered): history, status and the webhook say script-failed", async () => {
  const name = "manual-fail";
  const { home, env, first, run } = await setup(name);
  const script = join(home, "broken.mjs");
  writeFileSync(script, "console.error('cannot reach the CI system'); process.exit(5);\n");
  await run(["record", "script", "add", name, script, "--command", "node"]);
  const r = await rekeyAsync(["rotate", name, ...endpoint()], { env });
  assert.equal(r.code, 8, r.stderr);
  assert.match(r.stdout, /✗ script .*broken\.mjs.*: exit 5/);
  assert.match(r.stderr, /the key was rotated, but 1 of 1 post-rotation script\(s\) failed/);
  assert.notDeepEqual(keyIds(name), [first.accessKeyId], "the rotation stands");
  const [entry] = JSON.parse((await run(["history", name, "--json"])).stdout);
  assert.equal(entry.outcome, "script-failed");
  const [status] = JSON.parse((await run(["status", "--json"])).stdout);
  assert.equal(status.lastOutcome.outcome, "script-failed");
  assert.ok(hooks.some((h) => h.event === "rotation.script-failed" && h.user === name));
  // The gateway's one-shot run says it too: exit 8, not 0.
  const once = await rekeyAsync(["gateway", "--once", "--rotate", name, ...endpoint()], { env });
  assert.equal(once.code, 8, once.stderr);
  assert.match(once.stdout, /script-failed/);
  assert.match(once.stderr, /rotated the key, but a post-rotation script failed/);
  // `script add` warns at once about a command that does not exist.
  const missing = await rekeyAsync(
    ["record", "script", "add", name, script, "--command", "no-such-interp-3141"],
    {
      env,
    },
  );
  assert.equal(missing.code, 0, missing.stderr);
  assert.match(missing.stderr, /warning: command "no-such-interp-3141" is not found on PATH/);
});

/** `rekey rotate --verify` that waits on IAM's propagation delay: time to press Ctrl-C after the create. */
function slowRotate(name: string, env: NodeJS.ProcessEnv) {
  return spawnNode([BIN, "rotate", name, "--verify", "--verify-timeout", "60", "--verbose", ...endpoint()], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, REKEY_LOG_LEVEL: "info" },
    timeoutMs: 60_000,
  });
}

async function waitFor(cond: () => boolean, what: string) {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test("Ctrl-C during rekey rotate (new key created, not saved): the new key is deleted again, IAM and the vault as before, exit 130", async () => {
  const name = "ctrl-c-undo";
  const { env, first, run } = await setup(name);
  sandbox.knobs.set({ propagationDelayMs: 30_000 });
  try {
    const p = slowRotate(name, env);
    await waitFor(() => keyIds(name).length === 2 && /created new key/.test(p.output().stderr), "the create");
    p.child.kill("SIGINT");
    const { code } = await p.exited;
    const { stderr } = p.output();
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after the step in flight/);
    assert.match(stderr, /interrupted: the new key AKIA\w+ was deleted again before the vault was changed/);
  } finally {
    sandbox.knobs.set({ propagationDelayMs: 0 });
  }
  assert.deepEqual(keyIds(name), [first.accessKeyId]);
  const vaultKey = (await run(["record", "get", name, "aws_access_key_id"])).stdout.trim();
  assert.equal(vaultKey, first.accessKeyId);
  const [status] = JSON.parse((await run(["status", "--json"])).stdout);
  assert.equal(status.interrupted, null, "nothing left in the journal");
});

test("a second Ctrl-C exits at once, says to run rekey repair; status shows the interrupted rotation; repair converges", async () => {
  const name = "ctrl-c-twice";
  const { env, first, run } = await setup(name);
  // The new key works 6 s after its creation: the repair below verifies it, then finishes the rotation.
  sandbox.knobs.set({ propagationDelayMs: 6_000 });
  try {
    const p = slowRotate(name, env);
    await waitFor(() => keyIds(name).length === 2 && /created new key/.test(p.output().stderr), "the create");
    // The first signal asks for a clean stop; IAM then answers slowly, and a second signal exits at once.
    sandbox.knobs.set({ latencyMs: 2_000 });
    p.child.kill("SIGINT");
    await waitFor(() => /stopping after the step in flight/.test(p.output().stderr), "the first signal");
    p.child.kill("SIGINT");
    const { code } = await p.exited;
    const { stderr } = p.output();
    assert.equal(code, 130, stderr);
    assert.match(stderr, /run `rekey repair`/);
  } finally {
    sandbox.knobs.set({ propagationDelayMs: 0, latencyMs: 0 });
  }
  // The killed process's last request (the undo's DeleteAccessKey) may still land: let it, so the repair
  // below sees one settled state (the new key deleted, or still there with its secret in the journal).
  await new Promise((r) => setTimeout(r, 2_500));
  const st = await run(["status"]);
  const [status] = JSON.parse((await run(["status", "--json"])).stdout);
  // The process died between the create and the undo: the journal says so.
  assert.ok(status.interrupted, JSON.stringify(status));
  assert.match(st.stdout, /INTERRUPTED rotation pending .*run rekey repair/);
  await run(["repair", ...endpoint()]);
  const after = keyIds(name);
  assert.equal(after.length, 1);
  const vaultKey = (await run(["record", "get", name, "aws_access_key_id"])).stdout.trim();
  assert.equal(vaultKey, after[0], "the vault's key is the user's only key");
  void first;
  const [again] = JSON.parse((await run(["status", "--json"])).stdout);
  assert.equal(again.interrupted, null);
});
