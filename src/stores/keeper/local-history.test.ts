import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { RekeyError } from "../../errors.js";
import { Secret } from "../../secret.js";
import { FakeKeeper } from "../../testing/fake-keeper/index.js";
import { openKeeperVault } from "./ksm-store.js";
import { KeeperLocalState } from "./local-state.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fresh(key = randomBytes(32)) {
  const dir = mkdtempSync(join(tmpdir(), "rekey-keeper-history-"));
  dirs.push(dir);
  const stateDir = join(dir, "state");
  return { dir: stateDir, key, state: KeeperLocalState.open({ dir: stateDir, key, id: "test-app" }) };
}

const SCRIPT_OUTPUT = "script said: HISTSECRET-0123456789";
const entry = (id: string, recordUid: string, extra: Record<string, unknown> = {}) => ({
  id,
  recordUid,
  startedAt: "2024-01-01T04:00:00.000Z",
  outcome: "succeeded",
  ...extra,
});
const audit = (recordUid: string) => ({
  action: "gateway.rotation.succeeded",
  recordUid,
  actor: "test",
  details: { keyId: "AKIAEXAMPLE" },
});
const isKind = (kind: string) => (err: unknown) => err instanceof RekeyError && err.kind === kind;
const historyFiles = (dir: string) =>
  readdirSync(join(dir, "history"))
    .sort()
    .map((n) => join(dir, "history", n));

describe("KeeperLocalState: rotation history", () => {
  test("append and list: oldest first, per record, the most recent with limit; empty at first", () => {
    const { state } = fresh();
    assert.deepEqual(state.listRotationHistory(), []);
    state.appendRotationHistory(entry("h1", "R1", { scripts: [{ stdout: SCRIPT_OUTPUT }] }), audit("R1"));
    state.appendRotationHistory(entry("h2", "R2"), audit("R2"));
    state.appendRotationHistory(entry("h3", "R1", { outcome: "failed" }), audit("R1"));
    assert.deepEqual(
      state.listRotationHistory().map((e) => e.id),
      ["h1", "h2", "h3"],
    );
    assert.deepEqual(
      state.listRotationHistory({ recordUid: "R1" }).map((e) => e.id),
      ["h1", "h3"],
    );
    assert.deepEqual(
      state.listRotationHistory({ recordUid: "R1", limit: 1 }).map((e) => e.outcome),
      ["failed"],
    );
    assert.deepEqual(
      state.listRotationHistory({ limit: 2 }).map((e) => e.id),
      ["h2", "h3"],
    );
    assert.deepEqual(
      state.listRotationHistory({ recordUid: "R1" })[0],
      entry("h1", "R1", { scripts: [{ stdout: SCRIPT_OUTPUT }] }),
    );
    assert.throws(() => state.listRotationHistory({ limit: 0 }), /positive integer/);
  });

  test("each entry goes to the audit log; bad entries are refused and leave nothing behind", () => {
    const { state, dir } = fresh();
    state.appendRotationHistory(entry("h1", "R1"), audit("R1"));
    const last = state.listAudit().at(-1);
    assert.equal(last?.action, "gateway.rotation.succeeded");
    assert.equal(last?.recordUid, "R1");
    assert.equal(state.verifyAudit().ok, true);

    assert.throws(() => state.appendRotationHistory(entry("h1", "R1"), audit("R1")), isKind("conflict"));
    assert.throws(() => state.appendRotationHistory(entry("", "R1"), audit("R1")), isKind("usage"));
    assert.throws(
      () => state.appendRotationHistory(entry("h2", "R1", { startedAt: "yesterday" }), audit("R1")),
      isKind("usage"),
    );
    assert.throws(() => state.appendRotationHistory(entry("h2", "R1"), audit("R2")), isKind("usage"));
    assert.throws(
      () => state.appendRotationHistory(entry("h2", "R1", { leaked: new Secret("x") }), audit("R1")),
      /Secret object/,
    );
    assert.throws(() =>
      state.appendRotationHistory(entry("h3", "R1"), { ...audit("R1"), details: { secretAccessKey: "x" } }),
    );
    // An audit append that fails after the entry was written takes the entry back.
    assert.throws(
      () => state.appendRotationHistory(entry("h4", "R1"), { ...audit("R1"), actor: "" }),
      isKind("usage"),
    );
    assert.deepEqual(
      state.listRotationHistory().map((e) => e.id),
      ["h1"],
      "nothing half-written",
    );
    assert.equal(historyFiles(dir).length, 1);
    assert.equal(state.listAudit().length, 1);
  });

  test("sealed at rest in 0600 files; an edited, swapped or renamed file is an integrity error", () => {
    const { state, dir, key } = fresh();
    state.appendRotationHistory(entry("h1", "R1", { scripts: [{ stdout: SCRIPT_OUTPUT }] }), audit("R1"));
    state.appendRotationHistory(entry("h2", "R1"), audit("R1"));
    const [first, second] = historyFiles(dir);
    assert.ok(first && second);
    for (const f of [first, second]) {
      assert.equal(statSync(f).mode & 0o777, 0o600);
      const text = readFileSync(f, "utf8");
      assert.ok(!text.includes("HISTSECRET") && !text.includes("script said"), "readable in the file");
    }
    assert.equal(statSync(join(dir, "history")).mode & 0o777, 0o700);
    const integrity = (id: string) => (err: unknown) =>
      err instanceof RekeyError && err.kind === "integrity" && err.message.includes(id);

    const original = readFileSync(first, "utf8");
    // Moved to another record: the sealed body no longer matches.
    writeFileSync(first, original.replace('"recordUid":"R1"', '"recordUid":"R9"'));
    assert.throws(() => state.listRotationHistory(), integrity("h1"));
    // The other entry's body: bound to its own id and seq.
    const body2 = JSON.parse(readFileSync(second, "utf8")).body as string;
    writeFileSync(first, JSON.stringify({ ...JSON.parse(original), body: body2 }));
    assert.throws(() => state.listRotationHistory(), integrity("h1"));
    // A flipped byte of the body.
    const f = JSON.parse(original) as { body: string };
    const b = Buffer.from(f.body, "base64");
    b[b.length - 1]! ^= 1;
    writeFileSync(first, JSON.stringify({ ...f, body: b.toString("base64") }));
    assert.throws(() => state.listRotationHistory(), integrity("h1"));
    writeFileSync(first, "{not json");
    assert.throws(() => state.listRotationHistory(), isKind("integrity"));
    writeFileSync(first, original);
    assert.equal(state.listRotationHistory().length, 2);
    // Renamed (reordered): the name no longer matches the sealed seq.
    const renamed = first.replace(/\/0000000001-/, "/0000000003-");
    renameSync(first, renamed);
    assert.throws(() => state.listRotationHistory(), isKind("integrity"));
    renameSync(renamed, first);
    // Another key (another KSM application) cannot read it.
    const other = KeeperLocalState.open({ dir, key: randomBytes(32), id: "test-app" });
    assert.throws(() => other.listRotationHistory(), integrity("h1"));
    assert.equal(KeeperLocalState.open({ dir, key, id: "test-app" }).listRotationHistory().length, 2);
  });
});

test("KeeperVault: history through the port and commit([appendRotationHistory, deleteJournal])", async () => {
  const fake = new FakeKeeper();
  const dir = mkdtempSync(join(tmpdir(), "rekey-keeper-history-vault-"));
  dirs.push(dir);
  const configPath = join(dir, "ksm.json");
  writeFileSync(configPath, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
  const vault = await openKeeperVault({
    configPath,
    stateDir: join(dir, "state"),
    queryFunction: fake.queryFunction,
  });
  await vault.putJournal({ id: "j1", recordUid: "R1", kind: "gateway-attempt", state: {} });
  await vault.commit(
    [
      { op: "appendRotationHistory", entry: entry("h1", "R1"), audit: audit("R1") },
      { op: "deleteJournal", id: "j1" },
    ],
    { actor: "test" },
  );
  await vault.appendRotationHistory(entry("h2", "R2"), audit("R2"));
  assert.deepEqual(
    (await vault.listRotationHistory()).map((e) => e.id),
    ["h1", "h2"],
  );
  assert.deepEqual(
    (await vault.listRotationHistory({ recordUid: "R2" })).map((e) => e.id),
    ["h2"],
  );
  assert.deepEqual(await vault.listJournal(), []);
  assert.equal((await vault.listAudit({ recordUid: "R1" })).at(-1)?.action, "gateway.rotation.succeeded");
  assert.equal(historyFiles(join(dir, "state")).length, 2);
  // Without a local state directory there is nowhere to keep history: refused clearly.
  const bare = await openKeeperVault({ configPath, stateDir: null, queryFunction: fake.queryFunction });
  await assert.rejects(bare.listRotationHistory(), isKind("usage"));
});
