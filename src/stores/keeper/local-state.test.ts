import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RekeyError } from "../../errors.js";
import { newLeaseOwner } from "../../vault/lease-owner.js";
import { defaultKeeperStateDir, KeeperLocalState, keeperStateId, keeperStateKey } from "./local-state.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fresh(key = randomBytes(32)) {
  const dir = mkdtempSync(join(tmpdir(), "rekey-keeper-state-"));
  dirs.push(dir);
  const stateDir = join(dir, "state");
  return { dir: stateDir, key, state: KeeperLocalState.open({ dir: stateDir, key, id: "test-app" }) };
}

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";

describe("KeeperLocalState: journal", () => {
  test("put, list (filtered), update keeps createdAt, delete is idempotent", () => {
    const { state } = fresh();
    const a = state.putJournal({ id: "j-a", recordUid: "R1", kind: "rotation", state: { phase: "intent" } });
    state.putJournal({ id: "j-b", recordUid: "R2", kind: "rotation", state: { phase: "intent" } });
    const a2 = state.putJournal({
      id: "j-a",
      recordUid: "R1",
      kind: "rotation",
      state: { phase: "created", secret: SECRET },
    });
    assert.equal(a2.createdAt, a.createdAt);
    assert.deepEqual(
      state.listJournal({ recordUid: "R1" }).map((j) => [j.id, j.state.phase]),
      [["j-a", "created"]],
    );
    assert.equal(state.listJournal().length, 2);
    assert.equal(state.listJournal({ kind: "other" }).length, 0);
    state.deleteJournal("j-a");
    state.deleteJournal("j-a");
    assert.deepEqual(
      state.listJournal().map((j) => j.id),
      ["j-b"],
    );
  });

  test("the state is sealed at rest; files 0600 in a 0700 directory", () => {
    const { state, dir } = fresh();
    state.putJournal({ id: "j", recordUid: "R", kind: "rotation", state: { secret: SECRET } });
    const [file] = readdirSync(join(dir, "journal"));
    assert.ok(file);
    const path = join(dir, "journal", file);
    assert.ok(!readFileSync(path, "utf8").includes(SECRET));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  test("an entry edited or moved to another record fails its integrity check; another key cannot read it", () => {
    const { state, dir, key } = fresh();
    state.putJournal({ id: "j", recordUid: "R", kind: "rotation", state: { secret: SECRET } });
    const [file] = readdirSync(join(dir, "journal"));
    const path = join(dir, "journal", file!);
    const original = readFileSync(path, "utf8");
    writeFileSync(path, original.replace('"recordUid":"R"', '"recordUid":"OTHER"'));
    assert.throws(
      () => state.listJournal(),
      (e) => e instanceof RekeyError && e.kind === "integrity",
    );
    writeFileSync(path, original);
    assert.equal(state.listJournal().length, 1);
    const other = KeeperLocalState.open({ dir, key: randomBytes(32), id: "test-app" });
    assert.throws(
      () => other.listJournal(),
      (e) => e instanceof RekeyError && e.kind === "integrity",
    );
    assert.equal(KeeperLocalState.open({ dir, key, id: "test-app" }).listJournal().length, 1);
  });
});

describe("KeeperLocalState: leases", () => {
  test("one holder at a time; the holder may take it again; released or expired, another may", async () => {
    const { state } = fresh();
    const a = state.tryLock("R", "owner-a", 60_000);
    assert.ok(a);
    assert.equal(state.tryLock("R", "owner-b", 60_000), null);
    assert.ok(state.tryLock("R", "owner-a", 60_000));
    assert.ok(state.tryLock("OTHER", "owner-b", 60_000), "locks are per record");
    a.release();
    const b = state.tryLock("R", "owner-b", 20);
    assert.ok(b);
    await new Promise((r) => setTimeout(r, 40));
    const c = state.tryLock("R", "owner-c", 60_000);
    assert.ok(c, "an expired lease can be taken");
    assert.throws(
      () => b.renew(),
      (e) => e instanceof RekeyError && e.kind === "conflict" && /was lost/.test(e.message),
    );
    c.renew(120_000);
    assert.ok(Date.parse(c.expiresAt) > Date.now() + 100_000);
    b.release(); // not ours any more: leaves c's lease alone
    assert.equal(state.tryLock("R", "owner-d", 60_000), null);
  });

  test("a lock held by a dead process of this host is taken over; a live or remote holder keeps it", async () => {
    const { state } = fresh();
    const dead = await new Promise<number>((resolve) => {
      const p = execFile(process.execPath, ["-e", "0"], () => resolve(p.pid ?? 0));
    });
    // Same host, boot and PID namespace as this process (lease-owner.ts), and a pid that is gone.
    const deadOwner = newLeaseOwner("rekey keeper-script").replace(`:${process.pid}:`, `:${dead}:`);
    assert.ok(state.tryLock("R", deadOwner, 60_000));
    assert.ok(state.tryLock("R", "owner-b", 60_000), "the dead holder's lock is taken over");
    assert.equal(
      state.tryLock("R", `x@${hostname()}:${process.pid}:00ff`, 60_000),
      null,
      "a live holder keeps it",
    );
    const remote = fresh().state;
    assert.ok(remote.tryLock("R", `x@another-host:${dead}:00ff`, 60_000));
    assert.equal(
      remote.tryLock("R", "owner-c", 60_000),
      null,
      "a holder on another host is trusted until expiry",
    );
  });

  test("a bad ttl or owner is a usage error", () => {
    const { state } = fresh();
    assert.throws(
      () => state.tryLock("R", "o", 0),
      (e) => e instanceof RekeyError && e.kind === "usage",
    );
    assert.throws(
      () => state.tryLock("R", "", 1000),
      (e) => e instanceof RekeyError && e.kind === "usage",
    );
  });

  test("across processes exactly one of several racing processes gets the lease", async () => {
    const { dir, key } = fresh();
    const moduleUrl = new URL("./local-state.ts", import.meta.url).href;
    const script = `
      import { KeeperLocalState } from ${JSON.stringify(moduleUrl)};
      const s = KeeperLocalState.open({ dir: process.argv[1], key: Buffer.from(process.argv[2], "hex"), id: "test-app" });
      const start = Number(process.argv[3]); while (Date.now() < start) {} // line the racers up
      console.log(s.tryLock("R", "owner-" + process.pid, 60000) ? "won" : "lost");`;
    const start = Date.now() + 1500;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ["--import", "tsx", "--input-type=module", "-e", script, dir, key.toString("hex"), String(start)],
          { cwd: fileURLToPath(new URL("../../..", import.meta.url)) },
          (err, stdout) => (err ? reject(err) : resolve(stdout.trim())),
        );
      });
    const results = await Promise.all([run(), run(), run(), run()]);
    assert.equal(results.filter((r) => r === "won").length, 1, results.join(","));
  });
});

describe("KeeperLocalState: audit", () => {
  test("append, list (filtered, limited), verify", () => {
    const { state } = fresh();
    assert.deepEqual(state.verifyAudit(), { ok: true, entries: 0 });
    state.appendAudit({ action: "record.update", recordUid: "R1", actor: "t", details: { revision: 5 } });
    state.appendAudit({
      action: "rotation.complete",
      recordUid: "R1",
      actor: "t",
      details: { created: "AKIA1" },
    });
    state.appendAudit({ action: "record.update", recordUid: "R2", actor: "t" });
    assert.deepEqual(
      state.listAudit().map((e) => e.seq),
      [1, 2, 3],
    );
    assert.deepEqual(
      state.listAudit({ recordUid: "R1", limit: 1 }).map((e) => e.action),
      ["rotation.complete"],
    );
    assert.deepEqual(state.listAudit({ limit: 0 }), []);
    assert.deepEqual(state.verifyAudit(), { ok: true, entries: 3 });
  });

  test("an edited entry, or one cut off the end, is detected", () => {
    const { state, dir } = fresh();
    for (const n of [1, 2, 3]) state.appendAudit({ action: "x", recordUid: "R", actor: "t", details: { n } });
    const log = join(dir, "audit.jsonl");
    const original = readFileSync(log, "utf8");
    writeFileSync(log, original.replace('{\\"n\\":2}', '{\\"n\\":9}'));
    const edited = state.verifyAudit();
    assert.equal(edited.ok, false);
    assert.equal(edited.problem?.seq, 2);
    writeFileSync(log, original.split("\n").slice(0, 2).join("\n"));
    const cut = state.verifyAudit();
    assert.equal(cut.ok, false);
    assert.match(cut.problem?.reason ?? "", /cut off/);
  });

  test("details that name a secret are refused", () => {
    const { state } = fresh();
    assert.throws(
      () => state.appendAudit({ action: "x", actor: "t", details: { secretAccessKey: SECRET } }),
      /secret/,
    );
  });
});

describe("state key and directory", () => {
  const config = { clientId: "client-id-1", privateKey: randomBytes(138).toString("base64") };
  test("the key is derived from the KSM config and bound to the client id", () => {
    assert.equal(keeperStateKey(config).length, 32);
    assert.ok(keeperStateKey(config).equals(keeperStateKey({ ...config })));
    assert.ok(!keeperStateKey(config).equals(keeperStateKey({ ...config, clientId: "other" })));
  });
  test("the default directory: REKEY_KEEPER_STATE, else REKEY_HOME/keeper/<id>", () => {
    assert.equal(defaultKeeperStateDir(config, { REKEY_KEEPER_STATE: "/x/y" }), "/x/y");
    assert.equal(defaultKeeperStateDir(config, { REKEY_HOME: "/h" }), `/h/keeper/${keeperStateId(config)}`);
    assert.match(keeperStateId(config), /^[0-9a-f]{16}$/);
  });
});

describe("KeeperLocalState: deletion and rollback (issue #12)", () => {
  const isIntegrity = (text: string) => (e: unknown) =>
    e instanceof RekeyError && e.kind === "integrity" && `${e.message} ${e.hint}`.includes(text);

  test("a deleted audit.jsonl + audit.head is tampering, not an empty log", () => {
    const { state, dir, key } = fresh();
    state.appendAudit({ action: "x", recordUid: "R", actor: "t" });
    rmSync(join(dir, "audit.jsonl"));
    rmSync(join(dir, "audit.head"));
    const reopened = KeeperLocalState.open({ dir, key, id: "test-app" });
    const v = reopened.verifyAudit();
    assert.equal(v.ok, false);
    assert.match(v.problem?.reason ?? "", /head .*missing/);
    assert.throws(
      () => reopened.appendAudit({ action: "x", recordUid: "R", actor: "t" }),
      isIntegrity("missing (deleted)"),
    );
  });

  test("a new directory (even one that exists, empty) starts with a signed genesis head", () => {
    const { dir, key } = fresh();
    const empty = join(dir, "..", "pre-made");
    mkdirSync(empty);
    const s = KeeperLocalState.open({ dir: empty, key, id: "test-app" });
    assert.deepEqual(s.verifyAudit(), { ok: true, entries: 0 });
    assert.deepEqual(fresh().state.verifyAudit(), { ok: true, entries: 0 });
  });

  test("an older copy of a journal file, or an edited updatedAt, is refused", () => {
    const { state, dir } = fresh();
    state.putJournal({ id: "j", recordUid: "R", kind: "rotation", state: { phase: "intent" } });
    const [file] = readdirSync(join(dir, "journal"));
    const path = join(dir, "journal", file!);
    const older = readFileSync(path, "utf8");
    state.putJournal({
      id: "j",
      recordUid: "R",
      kind: "rotation",
      state: { phase: "created", secret: SECRET },
    });
    const newer = readFileSync(path, "utf8");
    writeFileSync(path, older);
    assert.throws(() => state.listJournal(), isIntegrity("older copy"));
    const f = JSON.parse(newer) as { updatedAt: string };
    writeFileSync(path, newer.replace(f.updatedAt, "2020-01-01T00:00:00.000Z"));
    assert.throws(() => state.listJournal(), isIntegrity("journal entry j"));
    writeFileSync(path, newer);
    assert.equal(state.listJournal()[0]?.state.phase, "created");
  });

  test("a deleted journal file, or a deleted entry put back, is refused", () => {
    const { state, dir } = fresh();
    state.putJournal({ id: "j", recordUid: "R", kind: "rotation", state: { phase: "intent" } });
    const [file] = readdirSync(join(dir, "journal"));
    const path = join(dir, "journal", file!);
    const copy = readFileSync(path, "utf8");
    rmSync(path);
    assert.throws(() => state.listJournal(), isIntegrity("entry j was deleted"));
    writeFileSync(path, copy);
    state.deleteJournal("j");
    state.putJournal({ id: "k", recordUid: "R", kind: "rotation", state: {} });
    const old = JSON.parse(copy) as { n: number };
    // The exact last version of a deleted entry is skipped (an interrupted delete); an older one is refused.
    writeFileSync(path, copy);
    assert.deepEqual(
      state.listJournal().map((j) => j.id),
      ["k"],
    );
    assert.equal(old.n, 1);
    rmSync(join(dir, "journal.head"));
    assert.throws(() => state.listJournal(), isIntegrity("journal.head is missing"));
  });
});

describe("KeeperLocalState: what a crash may leave of the writes it does not fsync", () => {
  test("a lock file emptied or torn by a crash of the host is free (it is written without fsync)", () => {
    const { state, dir } = fresh();
    assert.ok(state.tryLock("R", "owner-a", 60_000));
    const [file] = readdirSync(join(dir, "locks")).filter((n) => n.endsWith(".json"));
    const path = join(dir, "locks", file!);
    assert.equal(state.tryLock("R", "owner-b", 60_000), null, "held while the file is whole");
    for (const left of ["", '{"owner":"owner-a","expi', "null"]) {
      writeFileSync(path, left);
      const b = state.tryLock("R", "owner-b", 60_000);
      assert.ok(b, `taken over a lock file holding ${JSON.stringify(left)}`);
      b.release();
    }
  });

  test("a put whose index rename a crash lost: the entry stays live, its newest state is read", () => {
    const { state, dir } = fresh();
    const head = join(dir, "journal.head");
    state.putJournal({ id: "j", recordUid: "R", kind: "rotation", state: { phase: "intent" } });
    // The index before each later put, put back: what a lost rename of the put's index leaves.
    let before = readFileSync(head, "utf8");
    state.putJournal({ id: "j", recordUid: "R", kind: "rotation", state: { phase: "created" } });
    writeFileSync(head, before);
    assert.deepEqual(
      state.listJournal().map((j) => [j.id, j.state.phase]),
      [["j", "created"]],
    );
    // A new entry whose index update was lost is live too.
    before = readFileSync(head, "utf8");
    state.putJournal({ id: "k", recordUid: "R2", kind: "rotation", state: { phase: "intent" } });
    writeFileSync(head, before);
    assert.deepEqual(
      state
        .listJournal()
        .map((j) => j.id)
        .sort(),
      ["j", "k"],
    );
    // The next put and delete carry the index forward.
    state.putJournal({ id: "k", recordUid: "R2", kind: "rotation", state: { phase: "done" } });
    state.deleteJournal("j");
    assert.deepEqual(
      state.listJournal().map((j) => [j.id, j.state.phase]),
      [["k", "done"]],
    );
  });
});
