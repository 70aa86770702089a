import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { RekeyError } from "../../errors.js";
import { Secret } from "../../secret.js";
import { tempVault, vaultBytes } from "../../testing/vault.js";
import { openVault } from "./sqlite-open.js";

const SCRIPT_OUTPUT = "script said: HISTSECRET-0123456789";

function entry(id: string, recordUid: string, extra: Record<string, unknown> = {}) {
  return { id, recordUid, startedAt: "2024-01-01T04:00:00.000Z", outcome: "succeeded", ...extra };
}
const audit = (recordUid: string) => ({
  action: "gateway.rotation.succeeded",
  recordUid,
  actor: "test",
  details: { keyId: "AKIAEXAMPLE" },
});

test("history: append and list (per record, newest with limit); a vault without the table reads empty", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  assert.deepEqual(s.listRotationHistory(), [], "no table yet: empty");
  s.appendRotationHistory(entry("h1", "R1", { scripts: [{ stdout: SCRIPT_OUTPUT }] }), audit("R1"));
  s.appendRotationHistory(entry("h2", "R2"), audit("R2"));
  s.appendRotationHistory(entry("h3", "R1", { outcome: "failed" }), audit("R1"));
  assert.deepEqual(
    s.listRotationHistory().map((e) => e.id),
    ["h1", "h2", "h3"],
  );
  assert.deepEqual(
    s.listRotationHistory({ recordUid: "R1" }).map((e) => e.id),
    ["h1", "h3"],
  );
  assert.deepEqual(
    s.listRotationHistory({ recordUid: "R1", limit: 1 }).map((e) => e.outcome),
    ["failed"],
  );
  assert.deepEqual(s.listRotationHistory({ recordUid: "R1" })[0], {
    ...entry("h1", "R1", { scripts: [{ stdout: SCRIPT_OUTPUT }] }),
  });
  assert.throws(() => s.listRotationHistory({ limit: 0 }), /positive integer/);
});

test("history: each entry goes to the audit log in the same transaction; bad entries are refused", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  const before = s.listAudit().length;
  s.appendRotationHistory(entry("h1", "R1"), audit("R1"));
  const last = s.listAudit().at(-1)!;
  assert.equal(s.listAudit().length, before + 1);
  assert.equal(last.action, "gateway.rotation.succeeded");
  assert.equal(last.recordUid, "R1");
  assert.deepEqual(s.verifyAudit().ok, true);

  const isKind = (kind: string) => (err: unknown) => err instanceof RekeyError && err.kind === kind;
  assert.throws(() => s.appendRotationHistory(entry("h1", "R1"), audit("R1")), isKind("conflict"));
  assert.throws(() => s.appendRotationHistory(entry("", "R1"), audit("R1")), isKind("usage"));
  assert.throws(
    () => s.appendRotationHistory(entry("h2", "R1", { startedAt: "yesterday" }), audit("R1")),
    isKind("usage"),
  );
  assert.throws(() => s.appendRotationHistory(entry("h2", "R1"), audit("R2")), isKind("usage"));
  assert.throws(
    () => s.appendRotationHistory(entry("h2", "R1", { leaked: new Secret("x") }), audit("R1")),
    /Secret object/,
  );
  // A secret value in the audit details is refused by the audit log, and the entry is not kept either.
  assert.throws(() =>
    s.appendRotationHistory(entry("h3", "R1"), {
      ...audit("R1"),
      details: { aws_secret_access_key: "x" },
    }),
  );
  assert.deepEqual(
    s.listRotationHistory().map((e) => e.id),
    ["h1"],
    "nothing half-written",
  );
});

test("history is encrypted at rest and bound to its row: an edited row is an integrity error", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  v.store.appendRotationHistory(entry("h1", "R1", { scripts: [{ stdout: SCRIPT_OUTPUT }] }), audit("R1"));
  v.store.appendRotationHistory(entry("h2", "R1"), audit("R1"));
  v.store.close();
  const bytes = vaultBytes(v.path);
  for (const needle of ["HISTSECRET-0123456789", "script said"]) {
    assert.equal(bytes.indexOf(Buffer.from(needle)), -1, `${needle} readable in the vault file`);
  }
  // Swap the bodies of the two rows: each no longer matches its row.
  const db = new Database(v.path);
  const rows = db.prepare("SELECT seq, dek, body FROM rotation_history ORDER BY seq").all() as Array<{
    seq: number;
    dek: Buffer;
    body: Buffer;
  }>;
  db.prepare("UPDATE rotation_history SET dek = ?, body = ? WHERE seq = ?").run(
    rows[1]!.dek,
    rows[1]!.body,
    rows[0]!.seq,
  );
  db.close();
  const reopened = await openVault(v.path, { keyFile: v.keyFile });
  t.after(() => reopened.close());
  assert.throws(
    () => reopened.listRotationHistory(),
    (err: unknown) =>
      err instanceof RekeyError && err.kind === "integrity" && /history entry h1/.test(err.message),
  );
});

test("history: a first append that fails leaves no table behind and the next one works", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const bad = { ...audit("R1"), details: { secretAccessKey: "x" } };
  assert.throws(() => v.store.appendRotationHistory(entry("h1", "R1"), bad));
  v.store.appendRotationHistory(entry("h1", "R1"), audit("R1"));
  assert.deepEqual(
    v.store.listRotationHistory().map((e) => e.id),
    ["h1"],
  );
});
