import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { FakeKeeper, type ServedFakeKeeper, serveFakeKeeperHttps } from "./index.js";

const CHILD = fileURLToPath(new URL("./fixtures/ksm-child.mjs", import.meta.url));

interface ChildResult {
  code: number;
  out: { ok: boolean; error?: string; records?: Array<{ uid: string; title: string; revision: number }> };
}

function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CHILD, ...args], { env, timeout: 20_000 }, (err, stdout) => {
      const line = stdout.trim().split("\n").at(-1) ?? "{}";
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: JSON.parse(line) });
    });
  });
}

describe("fake Keeper over HTTPS, driven by a plain-Node child process", () => {
  const fake = new FakeKeeper();
  const folder = fake.addSharedFolder("AWS users");
  const alice = fake.addRecord(
    {
      type: "pamUser",
      title: "alice (AWS)",
      notes: "",
      fields: [{ type: "login", value: ["alice"] }],
      custom: [{ type: "text", label: "aws_access_key_id", value: ["AKIAOLD"] }],
    },
    { folderUid: folder.uid },
  );
  let served: ServedFakeKeeper;
  let dir: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    served = await serveFakeKeeperHttps(fake);
    dir = mkdtempSync(join(tmpdir(), "rekey-ksm-https-"));
    configFile = join(dir, "ksm.json");
    writeFileSync(configFile, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
    env = { ...process.env, NODE_EXTRA_CA_CERTS: served.caFile };
  });

  after(async () => {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the SDK reads records: TLS verified, transmission key unwrapped with the server key, signature checked", async () => {
    assert.equal(fake.hostname, served.hostname);
    const r = await runChild([configFile, "get", alice.uid], env);
    assert.equal(r.code, 0, r.out.error);
    assert.deepEqual(r.out.records, [{ uid: alice.uid, title: "alice (AWS)", revision: alice.revision }]);
  });

  test("the SDK saves a field with a revision check", async () => {
    const r = await runChild([configFile, "set", alice.uid, "aws_access_key_id", "AKIANEW"], env);
    assert.equal(r.code, 0, r.out.error);
    const custom = fake.recordData(alice.uid).custom as Array<{ value: string[] }>;
    assert.deepEqual(custom[0]?.value, ["AKIANEW"]);
  });

  test("403 throttled over the wire is retried by the SDK", async () => {
    fake.throttleNext(1, 0.01);
    const before = fake.calls().length;
    const r = await runChild([configFile, "get"], env);
    assert.equal(r.code, 0, r.out.error);
    assert.deepEqual(
      fake
        .calls()
        .slice(before)
        .map((c) => c.statusCode),
      [403, 200],
    );
  });

  test("without the test CA the certificate is refused (verification stays on)", async () => {
    const { NODE_EXTRA_CA_CERTS: _, ...plain } = env;
    const r = await runChild([configFile, "get"], plain);
    assert.equal(r.code, 1);
    assert.match(r.out.error ?? "", /certificate/i);
  });

  test("a config with another server key id is told so by the server", async () => {
    const other = join(dir, "other.json");
    writeFileSync(other, JSON.stringify({ ...fake.createClientConfig(), serverPublicKeyId: "7" }));
    const r = await runChild([other, "get"], env);
    assert.equal(r.code, 1);
    assert.match(r.out.error ?? "", /rejected the custom server public key/);
  });
});
