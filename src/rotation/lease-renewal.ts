/**
 * Renewing the engine's record lease before each step, without a vault write per step.
 *
 * A renewal is a write transaction (a commit to disk on SQLite); a rotation asks for one before each of
 * its steps, often a fraction of a second apart, so a gateway rotating many users spent a good part of its
 * time on them. A renewal within `freshWindowMs` of the previous one (or of taking the lease) is skipped:
 * the lease still has at least its time to live less that window ahead, so every step keeps almost the
 * whole time to live, and a lease can only be lost once it has expired (or its holder is certainly dead,
 * which this process is not), so skipping cannot miss a loss. Times are this process's clock.
 */
import type { Lease } from "../vault/store.js";

const lastWrite = new WeakMap<Lease, number>();

/** At most a second, and a tenth of the time to live (short leases in tests). */
export function freshWindowMs(ttlMs: number): number {
  return Math.min(1000, ttlMs / 10);
}

/** The lease was just taken or renewed (now): the next renewal within the window is skipped. */
export function noteLeaseWritten(lease: Lease, now = Date.now()): void {
  lastWrite.set(lease, now);
}

/** Renew the lease for `ttlMs` unless it was written within the fresh window (pure decision + renew). */
export function renewLease(lease: Lease, ttlMs: number, now = Date.now()): void | Promise<void> {
  const last = lastWrite.get(lease);
  if (last !== undefined && now >= last && now - last < freshWindowMs(ttlMs)) return;
  const done = lease.renew(ttlMs);
  lastWrite.set(lease, now);
  return done;
}
