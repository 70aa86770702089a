/** Record leases: re-entrant, renewable, expiring, and exclusive across real processes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RekeyError } from "../../errors.js";
import { spawnVaultChild as child, tempVault } from "../../testing/vault.js";
import { newLockOwner } from "./sqlite-locks.js";

test("a record lock held by one process keeps others out until released or expired", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = "LockedRecordUid0000000";
  const me = newLockOwner("test");
  assert.match(me, new RegExp(`^test@.+:${process.pid}:[0-9a-f]{12}( boot=[0-9a-f-]+ pidns=\\d+)?$`));

  const holder = child(["lock", v.path, v.keyFile, uid, "holder-1", "60000"]);
  t.after(() => holder.proc.kill());
  assert.deepEqual(await holder.next(), { locked: true });
  assert.equal(v.store.tryLock(uid, me, 1000), null, "held by another process");

  const other = child(["lock", v.path, v.keyFile, uid, "holder-2", "60000"]);
  t.after(() => other.proc.kill());
  assert.deepEqual(await other.next(), { locked: false });
  other.send("release"); // it holds nothing: releasing must not free holder-1's lock
  assert.equal(await other.exited, 0);
  assert.equal(v.store.tryLock(uid, me, 1000), null);

  holder.send("release");
  assert.equal(await holder.exited, 0);
  const lease = v.store.tryLock(uid, me, 1000);
  assert.ok(lease);
  lease.release();

  // A holder that dies without releasing: its lease expires and the lock can be taken again.
  const ttl = 1500;
  const crasher = child(["lock", v.path, v.keyFile, uid, "crasher", String(ttl)]);
  t.after(() => crasher.proc.kill());
  assert.deepEqual(await crasher.next(), { locked: true });
  const lockedAt = Date.now();
  crasher.send("exit");
  assert.equal(await crasher.exited, 0);
  assert.equal(v.store.tryLock(uid, me, 1000), null, "its holder is dead, but the lease has not expired yet");
  await sleep(lockedAt + ttl + 100 - Date.now());
  const after = v.store.tryLock(uid, me, 1000);
  assert.ok(after, "taken after expiry");
  after.release();
});

test("leases: re-entrant for the same owner, renew extends, a lost lease fails to renew", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  const first = s.tryLock("R", "owner-1", 40)!;
  assert.ok(first);
  assert.ok(s.tryLock("R", "owner-1", 40), "same owner takes it again");
  first.renew(60_000);
  assert.ok(Date.parse(first.expiresAt) > Date.now() + 50_000);
  assert.equal(s.tryLock("R", "owner-2", 1000), null);
  first.renew(30);
  await sleep(50);
  const second = s.tryLock("R", "owner-2", 60_000);
  assert.ok(second, "expired: another owner takes it");
  assert.throws(
    () => first.renew(),
    (err: unknown) => err instanceof RekeyError && err.kind === "conflict",
  );
  first.release(); // releasing a lost lease leaves the new holder alone
  assert.equal(s.tryLock("R", "owner-3", 1000), null);
  assert.throws(
    () => s.tryLock("R", "x", 0),
    (err: unknown) => err instanceof RekeyError && err.kind === "usage",
  );
});

test("a lease whose holder is certainly dead (this host, boot and PID namespace; pid gone) is taken over at once", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = "DeadHolderRecordUid000";
  const { spawnSync } = await import("node:child_process");
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  const deadOwner = newLockOwner("rekey").replace(`:${process.pid}:`, `:${dead}:`);
  assert.ok(v.store.tryLock(uid, deadOwner, 60_000), "the soon-dead holder takes it");
  const me = newLockOwner("test");
  const lease = v.store.tryLock(uid, me, 1000);
  assert.ok(lease, "a dead holder's unexpired lease does not block");
  // A live holder of this host (this very process) still blocks.
  assert.equal(v.store.tryLock(uid, newLockOwner("other"), 1000), null);
  lease.release();
  // A holder on another host is trusted until its lease expires.
  assert.ok(v.store.tryLock(uid, "rekey@elsewhere.example:1:0123456789ab", 60_000));
  assert.equal(v.store.tryLock(uid, me, 1000), null);
});

test("a lease is not taken over before expiry when its holder's death is not certain", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const { spawnSync } = await import("node:child_process");
  const { hostname } = await import("node:os");
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  const here = newLockOwner("rekey").replace(`:${process.pid}:`, `:${dead}:`);
  const uncertain = {
    "another boot": here.replace(/ boot=[0-9a-f-]+/, " boot=00000000-0000-4000-8000-000000000000"),
    "another PID namespace": here.replace(/ pidns=\d+/, " pidns=1"),
    "an owner string of an older rekey (host and pid only)": `rekey@${hostname()}:${dead}:0123456789ab`,
  };
  for (const [what, owner] of Object.entries(uncertain)) {
    const uid = `Uncertain-${what}`;
    assert.ok(v.store.tryLock(uid, owner, 60_000));
    assert.equal(v.store.tryLock(uid, newLockOwner("test"), 1000), null, what);
  }
  // Once it expires, anyone may take it.
  assert.ok(v.store.tryLock("Short", uncertain["another boot"], 1));
  await sleep(10);
  assert.ok(v.store.tryLock("Short", newLockOwner("test"), 1000));
});

test("a live holder in another PID namespace keeps its lease, even where its pid does not exist", async (t) => {
  const { existsSync, readFileSync } = await import("node:fs");
  const { spawnSync } = await import("node:child_process");
  if (process.getuid?.() !== 0 || spawnSync("unshare", ["--pid", "--fork", "true"]).status !== 0) {
    t.skip("needs root and unshare(1)");
    return;
  }
  // A pid free here and below this namespace's last pid: not handed out again while the test runs.
  const last = Number(readFileSync("/proc/sys/kernel/ns_last_pid", "utf8"));
  let pid = 0;
  for (let p = Math.min(last - 1, 30_000); p > 300; p--) {
    if (!existsSync(`/proc/${p}`)) {
      pid = p;
      break;
    }
  }
  assert.ok(pid > 0, "a free pid");
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = "OtherNamespaceRecord00";
  // In a new PID namespace, the holder gets `pid` (ns_last_pid + 1 for the next fork).
  const launcher = [
    "unshare",
    "--pid",
    "--fork",
    "--mount-proc",
    "--kill-child",
    "sh",
    "-c",
    `echo ${pid - 1} > /proc/sys/kernel/ns_last_pid; "$0" "$@"; exit $?`,
  ];
  const holder = child(["lock", v.path, v.keyFile, uid, "auto", "60000"], { launcher });
  // unshare --fork ignores SIGTERM; SIGKILL takes its child (PID 1 of the namespace) and all with it.
  t.after(() => holder.proc.kill("SIGKILL"));
  const took = await holder.next();
  assert.equal(took.locked, true);
  assert.equal(took.pid, pid, "the holder's pid inside its namespace");
  assert.equal(existsSync(`/proc/${pid}`), false, "no such pid here");
  assert.equal(v.store.tryLock(uid, newLockOwner("test"), 1000), null, "the live holder keeps its lease");
  assert.match(String(took.owner), new RegExp(`:${pid}:[0-9a-f]+ boot=`));
  holder.send("release");
  assert.equal(await holder.exited, 0);
  const lease = v.store.tryLock(uid, newLockOwner("test"), 1000);
  assert.ok(lease, "free once released");
  lease.release();
});
