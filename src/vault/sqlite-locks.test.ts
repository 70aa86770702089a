/** Record leases: re-entrant, renewable, expiring, and exclusive across real processes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RekeyError } from "../errors.js";
import { newLockOwner } from "./sqlite-locks.js";
import { spawnVaultChild as child, tempVault } from "./test-support.js";

test("a record lock held by one process keeps others out until released or expired", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = "LockedRecordUid0000000";
  const me = newLockOwner("test");
  assert.match(me, new RegExp(`^test@.+:${process.pid}:[0-9a-f]{12}$`));

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

test("a lease whose holder on this host is dead (SIGKILL) is taken over at once", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = "DeadHolderRecordUid000";
  const { spawnSync } = await import("node:child_process");
  const { hostname } = await import("node:os");
  const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
  const deadOwner = `rekey@${hostname()}:${dead}:0123456789ab`;
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
