/**
 * The single-file Gateway script in the environments Keeper's Gateway gives it: the config in GATEWAY_CONFIG
 * (the Docker Gateway), a service user without a writable home, and a corporate HTTP(S) proxy. Run as
 * script-bundle.test.ts runs it: copied alone, plain `node`, the Gateway's line on stdin, Keeper the fake over
 * HTTPS, AWS the sandbox; nothing inherited from the test runner's environment.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { DEFAULT_KSM_CONFIG } from "../stores/keeper/ksm-config.js";
import {
  FakeKeeper,
  gatewayLineFor,
  type ServedFakeKeeper,
  serveFakeKeeperHttps,
} from "../testing/fake-keeper/index.js";
import {
  bundleInTempDir,
  runScript,
  type ScriptRun,
  seedSandboxRotation,
  writeKsmConfig,
} from "../testing/keeper-script.js";
import { startTestProxy, type TestProxy } from "../testing/proxy-server.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";

let sandbox: Sandbox;
let fake: FakeKeeper;
let served: ServedFakeKeeper;
let bundle: ReturnType<typeof bundleInTempDir>;
let root: string;

before(async () => {
  sandbox = await startSandbox();
  fake = new FakeKeeper();
  served = await serveFakeKeeperHttps(fake);
  bundle = bundleInTempDir();
  root = mkdtempSync(join(tmpdir(), "rekey-gateway-env-"));
});

after(async () => {
  await served?.close();
  await sandbox?.close();
  bundle?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A fresh directory under the suite's root. */
function dir(name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

/** The environment every run gets; each test adds how it finds its config and state. */
function baseEnv(): NodeJS.ProcessEnv {
  return {
    NODE_EXTRA_CA_CERTS: served.caFile,
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

/** An IAM user with one key, its Keeper records (the sandbox's root key attached as admin) and the line. */
function setup(prefix: string) {
  const s = seedSandboxRotation(fake, sandbox, prefix, { rootAdmin: true });
  return { ...s, line: `${gatewayLineFor(fake, s.seeded)}\n` };
}

/** Exit 0, the record holds a new key, the user has only that key. */
function assertRotated(run: ScriptRun, s: ReturnType<typeof setup>): void {
  assert.equal(run.code, 0, `exit 0 (stderr: ${run.stderr})`);
  const r = fake.recordData(s.seeded.userUid) as unknown as KeeperRecord;
  const newId = getFieldValue(r, "aws_access_key_id") ?? "";
  assert.notEqual(newId, s.old.accessKeyId, "the record holds a new key");
  assert.deepEqual(
    sandbox.admin.listKeys(s.userName).map((k) => k.accessKeyId),
    [newId],
  );
}

/** Every file under `d`, recursively. */
function filesUnder(d: string): string[] {
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("the KSM config from GATEWAY_CONFIG (Keeper's Docker Gateway)", () => {
  test("base64 of the config in GATEWAY_CONFIG, no file anywhere: rotates; the config is never written", async () => {
    const s = setup("gwenv");
    const home = dir("home");
    const config = fake.createClientConfig();
    const run = await runScript(bundle.script, s.line, {
      ...baseEnv(),
      HOME: home,
      GATEWAY_CONFIG: Buffer.from(JSON.stringify(config)).toString("base64"),
    });
    assertRotated(run, s);
    const written = [...filesUnder(home), ...filesUnder(bundle.dir)];
    for (const f of written) {
      assert.ok(!readFileSync(f, "utf8").includes(config.privateKey), `${f} holds no part of the config`);
    }
    assert.ok(!run.stdout.includes(config.privateKey) && !run.stderr.includes(config.privateKey));
  });

  test("no config anywhere: exit 3 before any Keeper or AWS call, naming every place looked at", async (t) => {
    if (existsSync(DEFAULT_KSM_CONFIG)) return t.skip(`${DEFAULT_KSM_CONFIG} exists on this host`);
    const s = setup("gwenv");
    const home = dir("home");
    const run = await runScript(bundle.script, s.line, { ...baseEnv(), HOME: home });
    assert.equal(run.code, 3, run.stderr);
    for (const place of [
      "--ksm-config",
      "KSM_CONFIG_FILE",
      "GATEWAY_CONFIG",
      DEFAULT_KSM_CONFIG,
      join(home, ".keeper", "gateway-config.json"),
    ]) {
      assert.ok(run.stderr.includes(place), `names ${place}: ${run.stderr}`);
    }
    assert.deepEqual(
      sandbox.admin.listKeys(s.userName).map((k) => k.accessKeyId),
      [s.old.accessKeyId],
    );
  });

  test("a user install's ~/.keeper/gateway-config.json is found", async (t) => {
    // The Linux service's file comes first.
    if (existsSync(DEFAULT_KSM_CONFIG)) return t.skip(`${DEFAULT_KSM_CONFIG} exists on this host`);
    const s = setup("gwenv");
    const home = dir("home");
    mkdirSync(join(home, ".keeper"));
    writeKsmConfig(fake, join(home, ".keeper"));
    const run = await runScript(bundle.script, s.line, { ...baseEnv(), HOME: home });
    assertRotated(run, s);
  });
});

describe("no writable home (a service user)", () => {
  test("HOME under a regular file (mkdir fails even as root): a private temp state dir, said on stderr", async () => {
    const s = setup("gwenv");
    const base = dir("nohome");
    writeFileSync(join(base, "a-file"), "");
    const tmp = join(base, "tmp");
    mkdirSync(tmp);
    const home = join(base, "a-file", "home");
    const run = await runScript(bundle.script, s.line, {
      ...baseEnv(),
      HOME: home,
      TMPDIR: tmp,
      KSM_CONFIG_FILE: writeKsmConfig(fake, base),
    });
    assertRotated(run, s);
    const parent = join(tmp, `rekey-keeper-${process.getuid?.() ?? 0}`);
    assert.equal(statSync(parent).mode & 0o777, 0o700);
    const [stateDir, ...others] = readdirSync(parent);
    assert.equal(others.length, 0);
    assert.ok(existsSync(join(parent, stateDir!, "journal")), "the journal lives there");
    assert.ok(run.stderr.includes(join(home, ".rekey")), `says which directory failed: ${run.stderr}`);
    assert.ok(run.stderr.includes(join(parent, stateDir!)), `says which one is used: ${run.stderr}`);
  });
});

describe("HTTPS_PROXY / HTTP_PROXY / NO_PROXY", () => {
  let proxy: TestProxy;
  before(async () => {
    proxy = await startTestProxy();
  });
  after(async () => {
    await proxy?.close();
  });

  const sandboxHost = () => new URL(sandbox.endpoint).host;

  test("HTTPS_PROXY and HTTP_PROXY: the Keeper calls tunnel through the proxy, the AWS calls go through it", async () => {
    proxy.tunnels.length = 0;
    proxy.forwarded.length = 0;
    const s = setup("gwproxy");
    const base = dir("proxy");
    const run = await runScript(bundle.script, s.line, {
      ...baseEnv(),
      HOME: base,
      KSM_CONFIG_FILE: writeKsmConfig(fake, base),
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
      NO_PROXY: "",
    });
    assertRotated(run, s);
    assert.ok(proxy.tunnels.includes(served.hostname), `Keeper through the proxy: ${proxy.tunnels}`);
    assert.ok(proxy.forwarded.includes(sandboxHost()), `AWS through the proxy: ${proxy.forwarded}`);
    // Every AWS call: list, get user, create, delete at least.
    assert.ok(proxy.forwarded.filter((h) => h === sandboxHost()).length >= 4, `${proxy.forwarded}`);
  });

  test("lower-case https_proxy / http_proxy, no_proxy naming the AWS endpoint: Keeper proxied, AWS direct", async () => {
    proxy.tunnels.length = 0;
    proxy.forwarded.length = 0;
    const s = setup("gwproxy");
    const base = dir("proxy");
    const run = await runScript(bundle.script, s.line, {
      ...baseEnv(),
      HOME: base,
      KSM_CONFIG_FILE: writeKsmConfig(fake, base),
      https_proxy: proxy.url,
      http_proxy: proxy.url,
      no_proxy: sandboxHost(),
    });
    assertRotated(run, s);
    assert.ok(proxy.tunnels.includes(served.hostname), `Keeper through the proxy: ${proxy.tunnels}`);
    assert.deepEqual(proxy.forwarded, [], "AWS reached directly (NO_PROXY)");
  });
});
