import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { RekeyError } from "../errors.js";
import { FakeKeeper } from "./fake-server/index.js";
import {
  DEFAULT_KSM_CONFIG,
  keeperVaultConfigPath,
  loadKsmConfig,
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

describe("resolveKsmConfigPath", () => {
  const cases: Array<[string, { flag?: string; env: NodeJS.ProcessEnv }, string]> = [
    ["default: the Gateway's file", { env: {} }, DEFAULT_KSM_CONFIG],
    ["KSM_CONFIG_FILE", { env: { KSM_CONFIG_FILE: "/a/ksm.json" } }, "/a/ksm.json"],
    ["--ksm-config wins", { flag: "/b/ksm.json", env: { KSM_CONFIG_FILE: "/a/ksm.json" } }, "/b/ksm.json"],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(resolveKsmConfigPath(input), expected));
  }
});

describe("keeperVaultConfigPath (REKEY_VAULT=keeper:PATH)", () => {
  const cases: Array<[string, string | undefined]> = [
    ["keeper:/etc/ksm.json", "/etc/ksm.json"],
    ["KEEPER:/etc/ksm.json", "/etc/ksm.json"],
    ["keeper:///etc/ksm.json", "/etc/ksm.json"],
    ["keeper:", DEFAULT_KSM_CONFIG],
    ["sqlite:/x.db", undefined],
    ["/plain/path.db", undefined],
  ];
  for (const [spec, expected] of cases) {
    test(`${spec} → ${expected}`, () => assert.equal(keeperVaultConfigPath(spec, {}), expected));
  }
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
