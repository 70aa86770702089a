/**
 * The Keeper script as a single executable (scripts/build-sea.mjs): built once into a temp dir from the
 * bundle the test runner just built (the ~100 MB binary is not part of every test run's build), run with a
 * PATH that has no `node` and no NODE_OPTIONS, exactly as script-bundle.test.ts runs the .mjs: the fake Keeper
 * over HTTPS, the sandbox behind a counting proxy. Its output and exit codes must be the .mjs's.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import {
  FakeKeeper,
  gatewayLineFor,
  type ServedFakeKeeper,
  serveFakeKeeperHttps,
} from "../testing/fake-keeper/index.js";
import {
  BUNDLE,
  bundleInTempDir,
  type CountingProxy,
  countingProxy,
  REPO,
  runScript,
  type ScriptRun,
  seedSandboxRotation,
  writeKsmConfig,
} from "../testing/keeper-script.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";

let sandbox: Sandbox;
let proxy: CountingProxy;
let fake: FakeKeeper;
let served: ServedFakeKeeper;
let bundle: ReturnType<typeof bundleInTempDir>;
let dir: string;
let exe: string;
let env: NodeJS.ProcessEnv;

// build-sea.mjs makes Linux executables only (macOS and Windows need signing steps).
const skip =
  process.platform !== "linux" && `single executables are built on Linux only (${process.platform})`;

before(async () => {
  if (skip) return;
  bundle = bundleInTempDir(); // builds dist/ when missing
  dir = mkdtempSync(join(tmpdir(), "rekey-sea-test-"));
  exe = join(dir, "rekey-aws-access-key-linux-x64");
  const built = spawnSync(process.execPath, ["scripts/build-sea.mjs", "--script", BUNDLE, "--out", exe], {
    cwd: REPO,
    encoding: "utf8",
  });
  assert.equal(built.status, 0, `build-sea: ${built.stdout}${built.stderr}`);
  sandbox = await startSandbox();
  proxy = await countingProxy(sandbox.endpoint);
  fake = new FakeKeeper();
  served = await serveFakeKeeperHttps(fake);
  const home = join(dir, "home");
  env = {
    HOME: home,
    REKEY_HOME: join(home, "rekey"),
    KSM_CONFIG_FILE: writeKsmConfig(fake, dir),
    NODE_EXTRA_CA_CERTS: served.caFile,
    AWS_ENDPOINT_URL: proxy.url,
    AWS_EC2_METADATA_DISABLED: "true",
  };
});

after(async () => {
  await served?.close();
  await proxy?.close();
  await sandbox?.close();
  bundle?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `echo LINE | EXE args` with exactly `env`, PATH without node, no NODE_OPTIONS. */
async function runExe(input: string, args: string[] = []): Promise<ScriptRun> {
  const t0 = performance.now();
  const child = spawn(exe, args, { cwd: dir, env: { ...env, PATH: "/nonexistent" }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (res, rej) => {
      child.on("error", rej);
      child.on("close", (c, s) => res({ code: c, signal: s }));
    },
  );
  clearTimeout(timer);
  return { code, signal, stdout, stderr, ms: performance.now() - t0 };
}

/** One seeded rotation (the sandbox's root key attached as admin): its Gateway line and what to check. */
function seedOne(prefix: string) {
  const { userName, old, seeded } = seedSandboxRotation(fake, sandbox, prefix, { rootAdmin: true });
  return { userName, old, seeded, line: `${gatewayLineFor(fake, seeded, { newPassword: "N3w-Pass!" })}\n` };
}

/** Ids, UIDs, dates and revisions replaced: what must be equal between the .mjs's and the executable's run. */
const shape = (out: string, userName: string) =>
  out
    .replaceAll(userName, "<user>")
    .replace(/\bAKIA[0-9A-Z]{16}\b/g, "<key>")
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<date>")
    .replace(/[A-Za-z0-9_-]{22}/g, "<uid>")
    .replace(/\brevision \S+/g, "revision <x>")
    .replace(/\d+/g, "<n>");

test("the executable is a self-contained ELF file of the size of node", { skip }, () => {
  const size = statSync(exe).size;
  assert.ok(size > 50e6 && size < 200e6, `${size} bytes`);
  const magic = Buffer.alloc(4);
  const fd = openSync(exe, "r");
  readSync(fd, magic, 0, 4, 0);
  closeSync(fd);
  assert.equal(magic.toString("latin1"), "\x7fELF", "an ELF file");
  assert.ok((statSync(exe).mode & 0o111) !== 0, "executable");
});

test("--help and bad stdin: the .mjs's output and exit codes, no `node` on PATH", { skip }, async () => {
  const help = await runExe("", ["--help"]);
  const mjsHelp = await runScript(bundle.script, "", env, { args: ["--help"] });
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stdout, mjsHelp.stdout);
  assert.equal(help.stderr, "", "no experimental-feature warning");

  for (const input of ["%%% not base64 %%%\n", "", `${Buffer.from("[1]").toString("base64")}\n`]) {
    const aws = proxy.count();
    const bad = await runExe(input);
    const mjs = await runScript(bundle.script, input, env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, mjs.stderr);
    assert.match(bad.stderr, /^rekey: the Gateway input on stdin [^\n]*\n$/);
    assert.equal(proxy.count(), aws, "no AWS call");
  }

  const unknownFlag = await runExe("", ["--no-such-flag"]);
  assert.equal(unknownFlag.code, 2);
  assert.equal(
    unknownFlag.stderr,
    (await runScript(bundle.script, "", env, { args: ["--no-such-flag"] })).stderr,
  );
});

test("one rotation against the fake Keeper and the sandbox: same output shape and exit code as the .mjs", {
  skip,
}, async () => {
  const viaExe = seedOne("sea");
  const viaMjs = seedOne("seamjs");
  const r = await runExe(viaExe.line);
  assert.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  const record = fake.recordData(viaExe.seeded.userUid) as unknown as KeeperRecord;
  const newId = getFieldValue(record, "aws_access_key_id") ?? "";
  assert.notEqual(newId, viaExe.old.accessKeyId, "the record holds a new key");
  assert.deepEqual(
    sandbox.admin.listKeys(viaExe.userName).map((k) => k.accessKeyId),
    [newId],
    "the old key is deleted",
  );
  assert.match(r.stdout, new RegExp(`New Access Key ID: ${newId}`));
  const secret = getFieldValue(record, "aws_secret_access_key") ?? "";
  for (const s of [secret, viaExe.old.secretAccessKey, sandbox.root.secretAccessKey, "N3w-Pass!"]) {
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), "no secret in the output");
  }

  const m = await runScript(bundle.script, viaMjs.line, env);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(shape(r.stdout, viaExe.userName), shape(m.stdout, viaMjs.userName));
  assert.equal(shape(r.stderr, viaExe.userName), shape(m.stderr, viaMjs.userName));

  // --json too: the same fields.
  const again = seedOne("seajson");
  const againMjs = seedOne("seajsonmjs");
  const j = await runExe(again.line, ["--json"]);
  const jm = await runScript(bundle.script, againMjs.line, env, { args: ["--json"] });
  assert.equal(j.code, 0, j.stderr);
  assert.equal(jm.code, 0, jm.stderr);
  assert.deepEqual(Object.keys(JSON.parse(j.stdout) as object), Object.keys(JSON.parse(jm.stdout) as object));
});
