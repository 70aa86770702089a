/** The engine's lease renewals: skipped only just after a write, so a lost lease is still caught. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RekeyError } from "../errors.js";
import { newLockOwner } from "../stores/sqlite/sqlite-locks.js";
import { tempVault } from "../testing/vault.js";
import type { Lease } from "../vault/store.js";
import { freshWindowMs, noteLeaseWritten, renewLease } from "./lease-renewal.js";

const UID = "RenewedRecordUid000000";

test("a renewal within a second of the last write is skipped; later ones write", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const real = v.store.tryLock(UID, newLockOwner("test"), 60_000);
  assert.ok(real);
  const writes: number[] = [];
  const lease: Lease = {
    ...real,
    renew(ttl) {
      writes.push(ttl ?? 0);
      return real.renew(ttl);
    },
  };
  assert.equal(freshWindowMs(60_000), 1000);
  assert.equal(freshWindowMs(50), 5);
  // Never written as far as this module knows: renewed.
  renewLease(lease, 60_000, 10_000);
  assert.equal(writes.length, 1);
  renewLease(lease, 60_000, 10_500);
  renewLease(lease, 60_000, 10_999);
  assert.equal(writes.length, 1, "within a second of the last renewal");
  renewLease(lease, 60_000, 11_000);
  assert.equal(writes.length, 2);
  // Taken just now (the engine notes it): the first step's renewal is skipped.
  noteLeaseWritten(lease, 20_000);
  renewLease(lease, 60_000, 20_200);
  assert.equal(writes.length, 2);
  // A clock that went back: renewed (never skipped on a time it cannot trust).
  renewLease(lease, 60_000, 19_000);
  assert.equal(writes.length, 3);
  real.release();
});

test("a lease lost to another holder after it expired is caught at the next renewal", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const ttl = 50;
  const mine = v.store.tryLock(UID, newLockOwner("test"), ttl);
  assert.ok(mine);
  noteLeaseWritten(mine);
  await sleep(ttl + 20);
  const theirs = v.store.tryLock(UID, "someone-else@elsewhere:1:000000000000", 60_000);
  assert.ok(theirs, "an expired lease can be taken");
  assert.throws(
    () => renewLease(mine, ttl),
    (err: unknown) => err instanceof RekeyError && /was lost/.test(err.message),
  );
});
