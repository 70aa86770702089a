import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { RekeyError } from "../../errors.js";
import { FakeKeeper } from "../../testing/fake-keeper/index.js";
import {
  DEFAULT_KSM_CONFIG,
  keeperVaultSpec,
  loadKsmConfig,
  locateKsmConfig,
  parseKsmConfig,
  resolveKsmConfigPath,
} from "./ksm-config.js";
import { openKeeperVault } from "./ksm-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "rekey-ksm-config-"));
  dirs.push(d);
  return d;
}

describe("keeperVaultSpec (REKEY_VAULT=keeper:PATH)", () => {
  const cases: Array<[string, NodeJS.ProcessEnv, { configPath?: string } | undefined]> = [
    ["keeper:/etc/ksm.json", {}, { configPath: "/etc/ksm.json" }],
    ["KEEPER:/etc/ksm.json", {}, { configPath: "/etc/ksm.json" }],
    ["keeper:///etc/ksm.json", {}, { configPath: "/etc/ksm.json" }],
    ["keeper:", { KSM_CONFIG_FILE: "/k.json" }, { configPath: "/k.json" }],
    // No path: looked for when the vault is opened (locateKsmConfig).
    ["keeper:", {}, {}],
    ["sqlite:/x.db", {}, undefined],
    ["/plain/path.db", {}, undefined],
  ];
  for (const [spec, env, expected] of cases) {
    test(`${spec} ${JSON.stringify(env)} → ${JSON.stringify(expected)}`, () =>
      assert.deepEqual(keeperVaultSpec(spec, env), expected));
  }
});

describe("locateKsmConfig: --ksm-config, KSM_CONFIG_FILE, GATEWAY_CONFIG, then the Gateway's files", () => {
  const home = "/home/gw";
  const userFile = "/home/gw/.keeper/gateway-config.json";
  const b64 = Buffer.from('{"hostname":"h"}').toString("base64");
  const all = new Set([DEFAULT_KSM_CONFIG, userFile]);
  const cases: Array<[string, NodeJS.ProcessEnv, string | undefined, Set<string>, unknown]> = [
    [
      "--ksm-config wins over everything",
      { KSM_CONFIG_FILE: "/a.json", GATEWAY_CONFIG: b64 },
      "/b.json",
      all,
      { kind: "file", path: "/b.json", via: "--ksm-config" },
    ],
    [
      "KSM_CONFIG_FILE over GATEWAY_CONFIG",
      { KSM_CONFIG_FILE: "/a.json", GATEWAY_CONFIG: b64 },
      undefined,
      all,
      { kind: "file", path: "/a.json", via: "KSM_CONFIG_FILE" },
    ],
    [
      "GATEWAY_CONFIG over the Gateway's files",
      { GATEWAY_CONFIG: b64, HOME: home },
      undefined,
      all,
      { kind: "env", variable: "GATEWAY_CONFIG", text: b64 },
    ],
    [
      "the Linux service's file",
      { HOME: home },
      undefined,
      all,
      { kind: "file", path: DEFAULT_KSM_CONFIG, via: "the Keeper Gateway's config" },
    ],
    [
      "a user install's ~/.keeper/gateway-config.json",
      { HOME: home, GATEWAY_CONFIG: "  " },
      undefined,
      new Set([userFile]),
      { kind: "file", path: userFile, via: "the Keeper Gateway's config" },
    ],
  ];
  for (const [name, env, flag, files, expected] of cases) {
    test(name, () =>
      assert.deepEqual(
        locateKsmConfig({ flag, env, exists: (p) => files.has(p), platform: "linux" }),
        expected,
      ),
    );
  }

  test("none found: not-found, naming every place looked at (each path, each variable)", () => {
    assert.throws(
      () => locateKsmConfig({ env: { HOME: home }, exists: () => false, platform: "linux" }),
      (e) =>
        e instanceof RekeyError &&
        e.kind === "not-found" &&
        ["--ksm-config", "KSM_CONFIG_FILE", "GATEWAY_CONFIG", DEFAULT_KSM_CONFIG, userFile].every((w) =>
          e.message.includes(w),
        ),
    );
  });

  test("the old helper still names the explicit file or the service's", () => {
    assert.equal(resolveKsmConfigPath({ env: {} }), DEFAULT_KSM_CONFIG);
    assert.equal(resolveKsmConfigPath({ flag: "/b.json", env: { KSM_CONFIG_FILE: "/a.json" } }), "/b.json");
  });
});

describe("parseKsmConfig", () => {
  const fake = new FakeKeeper();
  const good = fake.createClientConfig();
  test("JSON and base64 of JSON", () => {
    assert.equal(parseKsmConfig(JSON.stringify(good), "f").clientId, good.clientId);
    assert.equal(
      parseKsmConfig(Buffer.from(JSON.stringify(good)).toString("base64"), "f").clientId,
      good.clientId,
    );
    assert.equal(
      parseKsmConfig(JSON.stringify({ ...good, serverPublicKeyId: 10 }), "f").serverPublicKeyId,
      "10",
    );
  });
  const bad: Array<[string, string, RegExp]> = [
    ["garbage", "not a config", /neither JSON nor base64/],
    ["no hostname", JSON.stringify({ ...good, hostname: undefined }), /hostname/],
    ["privateKey not base64", JSON.stringify({ ...good, privateKey: "%%%" }), /privateKey is not base64/],
    ["neither appKey nor clientKey", JSON.stringify({ ...good, appKey: undefined }), /neither appKey/],
  ];
  for (const [name, text, re] of bad) {
    test(`refused: ${name}, without echoing the file`, () => {
      assert.throws(
        () => parseKsmConfig(text, "/etc/k.json"),
        (e) =>
          e instanceof RekeyError &&
          e.kind === "usage" &&
          re.test(e.message) &&
          !e.message.includes(good.privateKey) &&
          !e.message.includes(String(good.appKey)),
      );
    });
  }
});

describe("loadKsmConfig / openKeeperVault", () => {
  test("a missing file is not-found, naming the path and the way to point elsewhere", () => {
    assert.throws(
      () => loadKsmConfig("/nonexistent/gateway-config.json"),
      (e) => e instanceof RekeyError && e.kind === "not-found" && /--ksm-config/.test(e.hint ?? ""),
    );
  });

  test("a bound config is read, never written back", async () => {
    const fake = new FakeKeeper();
    const sf = fake.addSharedFolder("f");
    const rec = fake.addRecord(
      { type: "login", title: "t", fields: [], custom: [], notes: "" },
      { folderUid: sf.uid },
    );
    const path = join(tempDir(), "gateway-config.json");
    const text = JSON.stringify(fake.createClientConfig());
    writeFileSync(path, text, { mode: 0o600 });
    const vault = await openKeeperVault({
      configPath: path,
      stateDir: null,
      queryFunction: fake.queryFunction,
    });
    assert.equal((await vault.getRecord(rec.uid))?.record.title, "t");
    assert.equal(readFileSync(path, "utf8"), text);
    assert.match(vault.description, /gateway-config\.json/);
    await assert.rejects(vault.listJournal(), /without a local state directory/);
  });

  test("an unbound config (one-time token) binds on first use and the binding is saved, mode 0600", async () => {
    const fake = new FakeKeeper();
    fake.addRecord({ type: "login", title: "t", fields: [], custom: [], notes: "" });
    const path = join(tempDir(), "ksm.json");
    const config = fake.createClientConfig({ bound: false });
    writeFileSync(path, Buffer.from(JSON.stringify(config)).toString("base64"), { mode: 0o644 });
    assert.equal(loadKsmConfig(path).bound, false);
    const vault = await openKeeperVault({
      configPath: path,
      stateDir: null,
      queryFunction: fake.queryFunction,
    });
    assert.equal((await vault.listRecords()).length, 1);
    const saved = JSON.parse(readFileSync(path, "utf8"));
    assert.ok(saved.appKey, "the app key is saved");
    assert.equal(saved.clientKey, undefined, "the one-time token is gone");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(loadKsmConfig(path).bound, true);
  });
});

describe("a config in GATEWAY_CONFIG (Keeper's Docker Gateway)", () => {
  test("is used in memory: the rotation's reads work and nothing is written anywhere", async () => {
    const fake = new FakeKeeper();
    const sf = fake.addSharedFolder("f");
    const rec = fake.addRecord(
      { type: "login", title: "t", fields: [], custom: [], notes: "" },
      { folderUid: sf.uid },
    );
    const config = fake.createClientConfig();
    const home = tempDir();
    const env = { HOME: home, GATEWAY_CONFIG: Buffer.from(JSON.stringify(config)).toString("base64") };
    const source = locateKsmConfig({ env, exists: () => false });
    assert.equal(source.kind, "env");
    const vault = await openKeeperVault({
      configPath: source,
      stateDir: null,
      queryFunction: fake.queryFunction,
    });
    assert.equal((await vault.getRecord(rec.uid))?.record.title, "t");
    assert.match(vault.description, /GATEWAY_CONFIG/);
    assert.ok(!vault.description.includes(config.privateKey), "the config's content is never echoed");
    assert.deepEqual(readdirSync(home), [], "no file written");
  });

  test("an unbound one (one-time token) is refused before any request: its binding could not be kept", () => {
    const fake = new FakeKeeper();
    const text = Buffer.from(JSON.stringify(fake.createClientConfig({ bound: false }))).toString("base64");
    assert.throws(
      () => loadKsmConfig({ kind: "env", variable: "GATEWAY_CONFIG", text }),
      (e) => e instanceof RekeyError && e.kind === "usage" && /GATEWAY_CONFIG is not bound/.test(e.message),
    );
  });

  test("garbage is a usage error naming the variable, never echoing it", () => {
    assert.throws(
      () => loadKsmConfig({ kind: "env", variable: "GATEWAY_CONFIG", text: "c2VjcmV0LW5vdC1qc29u" }),
      (e) =>
        e instanceof RekeyError &&
        e.kind === "usage" &&
        /GATEWAY_CONFIG/.test(e.message) &&
        !e.message.includes("c2VjcmV0"),
    );
  });
});
