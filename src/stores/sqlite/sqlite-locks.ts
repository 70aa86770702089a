/**
 * Per-record leases in the vault's `locks` table: one row per locked record, taken inside a BEGIN IMMEDIATE
 * transaction, so the check and the take are atomic across every process using the file. A holder that dies
 * without releasing simply lets its lease expire; one certainly dead (same host, boot and PID namespace,
 * pid gone: lease-owner.ts) loses it at once.
 *
 * Why a lease and not an OS file lock: the holder may be a long rotation (minutes of AWS calls) in a process
 * that can crash; an expiry makes the lock recoverable without manual cleanup, and it works the same way in
 * the later PostgreSQL backend.
 */

import { conflict, usageError } from "../../errors.js";
import { holderMayBeAlive, newLeaseOwner } from "../../vault/lease-owner.js";
import type { Lease } from "../../vault/store.js";

/** What the lease code needs from the store: guarded statements and an immediate write transaction. */
export interface LockDb {
  run(sql: string, ...params: unknown[]): { changes: number };
  get<T>(sql: string, ...params: unknown[]): T | undefined;
  write<T>(fn: () => T): T;
}

/**
 * A lock owner id unique to this process and call: host, pid, randomness, boot id and PID namespace.
 * An unexpired lease is taken over only when its holder is certainly dead (lease-owner.ts).
 */
export function newLockOwner(label = "rekey"): string {
  return newLeaseOwner(label);
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw usageError(
      `a lock's time to live must be a positive number of milliseconds, not ${ttlMs}`,
      "e.g. 60000",
    );
  }
}

/** Take the record's lease if it is free, expired, or already ours; null if another live holder has it. */
export function tryLock(db: LockDb, recordUid: string, owner: string, ttlMs: number): Lease | null {
  checkTtl(ttlMs);
  if (!owner) throw usageError("a lock needs an owner id", "use newLockOwner()");
  const expiresAt = db.write(() => {
    const now = Date.now();
    const held = db.get<{ owner: string; expires_at: number }>(
      "SELECT owner, expires_at FROM locks WHERE record_uid = ?",
      recordUid,
    );
    if (held && held.owner !== owner && held.expires_at > now && holderMayBeAlive(held.owner))
      return undefined;
    const until = now + ttlMs;
    db.run(
      "INSERT INTO locks (record_uid, owner, expires_at) VALUES (?, ?, ?) " +
        "ON CONFLICT (record_uid) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
      recordUid,
      owner,
      until,
    );
    return until;
  });
  if (expiresAt === undefined) return null;
  return makeLease(db, recordUid, owner, ttlMs, expiresAt);
}

function makeLease(db: LockDb, recordUid: string, owner: string, defaultTtl: number, until: number): Lease {
  const lease: Lease = {
    recordUid,
    owner,
    expiresAt: new Date(until).toISOString(),
    renew(ttlMs = defaultTtl) {
      checkTtl(ttlMs);
      const next = Date.now() + ttlMs;
      // Still ours (even if past expiry, as long as nobody took it meanwhile): extend. Otherwise it was lost.
      const { changes } = db.write(() =>
        db.run("UPDATE locks SET expires_at = ? WHERE record_uid = ? AND owner = ?", next, recordUid, owner),
      );
      if (changes !== 1) {
        throw conflict(
          `the lock on record ${recordUid} was lost: it expired and another process took it (owner ${owner})`,
          "stop the work on this record; it will be retried by whoever holds the lock now",
        );
      }
      lease.expiresAt = new Date(next).toISOString();
    },
    release() {
      db.write(() => db.run("DELETE FROM locks WHERE record_uid = ? AND owner = ?", recordUid, owner));
    },
  };
  return lease;
}
