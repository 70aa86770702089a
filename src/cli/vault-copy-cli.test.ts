/**
 * `rekey vault copy` as a user runs it: the built CLI in child processes, a real PostgreSQL server (slow:
 * started once for the file) and the IAM sandbox served by this test process. SQLite → PostgreSQL → SQLite,
 * then the refusals.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { openPostgresVault } from "../stores/postgres/pg-open.js";
import { newLockOwner } from "../stores/sqlite/sqlite-locks.js";
import { openVault } from "../stores/sqlite/sqlite-open.js";
import { crashEnv } from "../testing/checkpoint.js";
import { addKeyRecords, freshHome, rekeyAsync } from "../testing/cli.js";
import { type PgServer, startPostgres } from "../testing/postgres.js";

let pg: PgServer;
let sandbox: Sandbox;
before(async () => {
  [pg, sandbox] = await Promise.all([startPostgres(), startSandbox({ env: {} })]);
});
after(async () => {
  await Promise.all([pg?.stop(), sandbox?.close()]);
});

const PASSPHRASE = "correct horse battery staple";

/** The URL without its password (the children get PGPASSWORD): nothing secret in argv. */
function noPassword(url: string): string {
  const u = new URL(url);
  u.password = "";
  return u.toString();
}

async function cli(env: NodeJS.ProcessEnv, args: string[], input?: string) {
  return rekeyAsync(args, { env, ...(input === undefined ? {} : { input }) });
}

async function ok(env: NodeJS.ProcessEnv, args: string[], input?: string) {
  const r = await cli(env, args, input);
  assert.equal(r.code, 0, `rekey ${args.join(" ")}: ${r.stderr}`);
  return r;
}

/** A local vault with folders, edited records, a deleted one, a script, a gateway rotation and a pending journal. */
async function richVault() {
  const { home, env: base } = freshHome();
  const env = { ...base, AWS_EC2_METADATA_DISABLED: "true", PGPASSWORD: pg.password };
  const endpoint = ["--endpoint-url", sandbox.endpoint];
  sandbox.admin.createUser("copy-alice");
  await addKeyRecords(env, "admin", sandbox.root, {
    name: "copy-alice",
    key: sandbox.admin.createAccessKey("copy-alice"),
  });
  sandbox.admin.createUser("copy-bob");
  const bobKey = sandbox.admin.createAccessKey("copy-bob");
  await ok(
    env,
    [
      "record",
      "add",
      "--title",
      "copy-bob",
      "--set",
      "login=copy-bob",
      "--set",
      `aws_access_key_id=${bobKey.accessKeyId}`,
      "--set",
      "rotation_credentials=admin",
      "--secret",
      "aws_secret_access_key",
    ],
    `${bobKey.secretAccessKey}\n`,
  );
  await ok(env, ["folder", "add", "Team"]);
  await ok(env, [
    "record",
    "add",
    "--type",
    "login",
    "--title",
    "notes",
    "--folder",
    "Team",
    "--set",
    "login=n1",
  ]);
  await ok(env, ["record", "edit", "notes", "--set", "login=n2"]);
  await ok(env, ["record", "edit", "notes", "--set", "login=n3"]);
  const gone = JSON.parse(
    (await ok(env, ["record", "add", "--type", "login", "--title", "gone", "--json"])).stdout,
  ) as { uid: string };
  await ok(env, ["record", "rm", "gone"]);
  const script = join(home, "hello.mjs");
  writeFileSync(script, 'console.log("hello from the script");\n');
  await ok(env, ["record", "script", "add", "copy-alice", script, "--command", "node"]);
  // A rotation by the gateway: rotation history, audit entries, a script run.
  await ok(env, ["gateway", "--once", "--rotate", "copy-alice", "--jitter", "0", ...endpoint]);
  // A rotation killed after its journal holds the new secret: the journal must survive the copy.
  const crashed = await cli({ ...env, ...crashEnv("journal") }, ["rotate", "copy-bob", ...endpoint]);
  assert.equal(crashed.signal, "SIGKILL", crashed.stderr);
  return {
    home,
    env,
    endpoint,
    goneUid: gone.uid,
    vaultPath: join(home, "vault.db"),
    keyFile: String(base.REKEY_KEY_FILE),
  };
}

/** What a user sees through each read command, on the vault `vault` (undefined: the source). */
async function views(env: NodeJS.ProcessEnv, goneUid: string, vault?: string) {
  const on = vault === undefined ? [] : ["--vault", vault];
  const out: Record<string, string> = {};
  for (const args of [
    ["record", "list", "--json"],
    ["folder", "list", "--json"],
    ["record", "history", "notes", "--json"],
    ["record", "history", "copy-alice", "--json"],
    ["record", "history", goneUid, "--json"],
    ["record", "script", "list", "copy-alice", "--json"],
    ["record", "get", "copy-alice", "aws_secret_access_key"],
    ["history", "--json", "--scripts"],
    ["status", "--json"],
  ]) {
    out[args.join(" ")] = (await ok(env, [...on, ...args])).stdout;
  }
  return out;
}

test("vault copy: SQLite → PostgreSQL → SQLite keeps UIDs, versions, folders, scripts, audit, rotation history and a pending rotation's journal; verified, same key", async () => {
  const src = await richVault();
  const { env } = src;
  const url = await pg.createDatabase();
  const target = noPassword(url);
  const before = await views(env, src.goneUid);
  assert.equal(
    JSON.parse(before["history --json --scripts"]!).length,
    1,
    "one gateway rotation in the history",
  );
  assert.equal(JSON.parse(before["record history notes --json"]!).length, 3, "three versions of notes");

  const srcAuditBefore = JSON.parse((await ok(env, ["audit", "list", "--json"])).stdout);
  const copied = await ok(env, ["vault", "copy", "--to", target]);
  assert.match(copied.stdout, /copied local vault .* to PostgreSQL vault postgres:\/\/rekey@127\.0\.0\.1/);
  assert.match(copied.stdout, /verified/);
  assert.match(copied.stdout, /journal entries +[1-9]/);
  assert.match(copied.stdout, /history entries +1/);
  assert.doesNotMatch(copied.stdout + copied.stderr, new RegExp(pg.password), "no password printed");

  // Every read command shows the same on the copy, unlocked by the same key file.
  assert.deepEqual(await views(env, src.goneUid, target), before);
  // ... and by the same passphrase (the key slots were copied).
  const byPassphrase = { PGPASSWORD: pg.password, REKEY_PASSPHRASE: PASSPHRASE, REKEY_HOME: src.home };
  assert.equal(
    (await ok(byPassphrase, ["--vault", target, "record", "list", "--json"])).stdout,
    before["record list --json"],
  );

  // The audit log: the source's entries as they were, then the copy's own vault.copy; the chain verifies.
  const verify = await ok(env, ["--vault", target, "audit", "verify", "--json"]);
  assert.equal(JSON.parse(verify.stdout).ok ?? JSON.parse(verify.stdout).audit?.ok, true, verify.stdout);
  type Entry = { action: string; details: { role?: string } };
  const auditOf = async (...on: string[]) =>
    JSON.parse((await ok(env, [...on, "audit", "list", "--json"])).stdout) as Entry[];
  const [srcAudit, pgAudit] = [await auditOf(), await auditOf("--vault", target)];
  const n = srcAuditBefore.length;
  assert.deepEqual(pgAudit.slice(0, n), srcAuditBefore, "the source's entries, as they were");
  assert.equal(pgAudit[n]?.action, "vault.copy");
  assert.equal(pgAudit[n]?.details.role, "target");
  assert.deepEqual(srcAudit.slice(0, n), srcAuditBefore);
  assert.equal(srcAudit[n]?.action, "vault.copy", "the source records the copy too");
  assert.equal(srcAudit[n]?.details.role, "source");

  // The pending journal, new secret included, is in the copy as in the source.
  const { keyFile } = src;
  const source = await openVault(src.vaultPath, { keyFile });
  const copy = await openPostgresVault(url, { keyFile });
  try {
    const journal = source.listJournal();
    const newSecret = (e: (typeof journal)[number]) =>
      (e.state as { newKey?: { secret?: unknown } }).newKey?.secret;
    assert.ok(
      journal.some((e) => typeof newSecret(e) === "string"),
      JSON.stringify(journal.map((e) => e.kind)),
    );
    assert.deepEqual(await copy.listJournal(), journal);
    assert.deepEqual(await copy.listRotationHistory(), source.listRotationHistory());
  } finally {
    source.close();
    await copy.close();
  }

  // Back to a new SQLite file, from the PostgreSQL copy: the same again.
  const dir = mkdtempSync(join(tmpdir(), "rekey-copy-back-"));
  try {
    const back = join(dir, "sub", "back.db");
    const pgEnv = { ...env, REKEY_VAULT: url };
    const json = JSON.parse((await ok(pgEnv, ["vault", "copy", "--to", back, "--json"])).stdout);
    assert.equal(json.verified, true);
    assert.ok(json.journalEntries >= 1);
    assert.equal(json.historyEntries, 1);
    assert.equal(json.deletedRecords, 1);
    assert.deepEqual(await views(env, src.goneUid, back), before);
    const backVerify = await ok(env, ["--vault", back, "audit", "verify"]);
    assert.match(backVerify.stdout, /hash chain intact/);
    assert.match(backVerify.stdout, /every row matches the signed head/);

    // The copy is a working vault: the interrupted rotation of copy-bob is finished from the copied journal.
    const repaired = await ok(env, ["--vault", back, "rotate", "copy-bob", ...src.endpoint]);
    assert.match(repaired.stdout + repaired.stderr, /resum|repair|complet|rotated/i);
    const vaultKey = (
      await ok(env, ["--vault", back, "record", "get", "copy-bob", "aws_access_key_id"])
    ).stdout.trim();
    assert.deepEqual(
      sandbox.admin.listKeys("copy-bob").map((k) => k.accessKeyId),
      [vaultKey],
      "IAM and the copy agree: the journaled key was kept, nothing orphaned",
    );
    assert.ok(readFileSync(back).length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("vault copy refuses: a lease held, a target with records without --force, a different vault, itself, a file that is not a vault", async () => {
  const { home, env: base } = freshHome();
  const env = { ...base, PGPASSWORD: pg.password };
  await ok(env, ["record", "add", "--type", "login", "--title", "r1", "--set", "login=a"]);
  const vaultPath = join(home, "vault.db");
  const url = await pg.createDatabase();
  const target = noPassword(url);

  // A lease held in the source (a rotation in flight): refused, nothing written anywhere.
  const store = await openVault(vaultPath, { keyFile: String(base.REKEY_KEY_FILE) });
  const uid = store.listRecords()[0]!.uid;
  const lease = store.tryLock(uid, newLockOwner("test"), 60_000);
  assert.ok(lease);
  try {
    const held = await cli(env, ["vault", "copy", "--to", target]);
    assert.equal(held.code, 4, held.stderr);
    assert.match(held.stderr, /in use: 1 record lease/);
    assert.match(held.stderr, /stop the gateway/);
  } finally {
    lease.release();
    store.close();
  }
  // Nothing was written: the copy now goes in without --force.
  await ok(env, ["vault", "copy", "--to", target]);

  // The same vault, with records: only with --force.
  const again = await cli(env, ["vault", "copy", "--to", target]);
  assert.equal(again.code, 4, again.stderr);
  assert.match(again.stderr, /already holds this vault with 1 record/);
  await ok(env, ["record", "add", "--type", "login", "--title", "r2", "--set", "login=b"]);
  await ok(env, ["vault", "copy", "--to", target, "--force"]);
  const titles = JSON.parse((await ok(env, ["--vault", target, "record", "list", "--json"])).stdout).map(
    (r: { title: string }) => r.title,
  );
  assert.deepEqual(titles, ["r1", "r2"]);

  // A different vault (another `rekey init`, other key slots): refused, even with --force, and left intact.
  const otherUrl = await pg.createDatabase();
  const otherKey = join(home, "other.key");
  const otherEnv = { ...env, REKEY_KEY_FILE: otherKey };
  await ok(otherEnv, ["--vault", noPassword(otherUrl), "init", "--no-passphrase", "--key-file", otherKey]);
  await ok(otherEnv, [
    "--vault",
    noPassword(otherUrl),
    "record",
    "add",
    "--type",
    "login",
    "--title",
    "theirs",
  ]);
  for (const force of [[], ["--force"]]) {
    const other = await cli(env, ["vault", "copy", "--to", noPassword(otherUrl), ...force]);
    assert.equal(other.code, 4, other.stderr);
    assert.match(other.stderr, /different rekey vault/);
  }
  const theirs = JSON.parse(
    (await ok(otherEnv, ["--vault", noPassword(otherUrl), "record", "list", "--json"])).stdout,
  ).map((r: { title: string }) => r.title);
  assert.deepEqual(theirs, ["theirs"]);
  // The same for a local vault file of another vault.
  const otherFile = join(home, "other.db");
  await ok(otherEnv, [
    "--vault",
    otherFile,
    "init",
    "--no-passphrase",
    "--key-file",
    otherKey,
    "--use-existing-key-file",
  ]);
  const otherSqlite = await cli(env, ["vault", "copy", "--to", otherFile, "--force"]);
  assert.equal(otherSqlite.code, 4, otherSqlite.stderr);
  assert.match(otherSqlite.stderr, /different rekey vault/);

  // The source itself; a file that is not a vault; a Keeper target.
  const self = await cli(env, ["vault", "copy", "--to", vaultPath]);
  assert.equal(self.code, 2, self.stderr);
  assert.match(self.stderr, /is the source vault itself/);
  const pgSelf = await cli({ ...env, REKEY_VAULT: url }, ["vault", "copy", "--to", target]);
  assert.equal(pgSelf.code, 2, pgSelf.stderr);
  const junk = join(home, "notes.txt");
  writeFileSync(junk, "not a vault\n");
  const notVault = await cli(env, ["vault", "copy", "--to", junk]);
  assert.equal(notVault.code, 4, notVault.stderr);
  assert.match(notVault.stderr, /is not a rekey vault/);
  assert.equal(readFileSync(junk, "utf8"), "not a vault\n", "left as it was");
  const keeper = await cli(env, ["vault", "copy", "--to", "keeper:/nowhere.json"]);
  assert.equal(keeper.code, 2, keeper.stderr);
  assert.match(keeper.stderr, /Keeper/);
  const missing = await cli(env, ["vault", "copy"]);
  assert.equal(missing.code, 2, missing.stderr);
});
