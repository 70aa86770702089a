/**
 * Per-record leases in the PostgreSQL vault's `locks` table, for several gateways on one database.
 *
 * - Taking is one statement: `INSERT ... ON CONFLICT DO UPDATE ... WHERE` the row is expired or already
 *   ours, so the check and the take are atomic across every connection. Expiry is on the database's clock
 *   (now()): machines with skewed clocks still agree on who holds a record.
 * - A holder certainly dead (same host, boot and PID namespace, pid gone: lease-owner.ts) loses an unexpired
 *   lease at once, with an update conditioned on the dead owner (two takers cannot both win).
 * - Lease.renew/release may return a promise in the store port (store.ts): here they return the UPDATE's or
 *   DELETE's promise (never an unhandled rejection). The gateway awaits both; the engine's step-by-step renews
 *   do not wait for the round trip: a renew that finds the lease gone marks it lost, and every later renew
 *   throws the conflict at once, so work on a lost record stops at its next step. The pending statements are
 *   awaited before the store closes.
 */
import { conflict, usageError } from "../../errors.js";
import { holderMayBeAlive } from "../../vault/lease-owner.js";
import type { Lease } from "../../vault/store.js";
import type { PgDb } from "./pg-db.js";

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw usageError(
      `a lock's time to live must be a positive number of milliseconds, not ${ttlMs}`,
      "e.g. 60000",
    );
  }
}

const TAKE_SQL =
  "INSERT INTO locks (record_uid, owner, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond') " +
  "ON CONFLICT (record_uid) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at " +
  "WHERE locks.expires_at <= now() OR locks.owner = excluded.owner RETURNING expires_at";

const TAKE_FROM_DEAD_SQL =
  "UPDATE locks SET owner = $2, expires_at = now() + $3 * interval '1 millisecond' " +
  "WHERE record_uid = $1 AND owner = $4 RETURNING expires_at";

const RENEW_SQL =
  "UPDATE locks SET expires_at = now() + $3 * interval '1 millisecond' " +
  "WHERE record_uid = $1 AND owner = $2 RETURNING expires_at";

/** The leases of one store: takes them, and tracks their in-flight renew/release statements. */
export class PgLeases {
  readonly #db: PgDb;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(db: PgDb) {
    this.#db = db;
  }

  /** Take the record's lease if it is free, expired, ours, or its holder is certainly dead; else null. */
  async tryLock(recordUid: string, owner: string, ttlMs: number): Promise<Lease | null> {
    checkTtl(ttlMs);
    if (!owner) throw usageError("a lock needs an owner id", "use newLockOwner()");
    const ttl = Math.ceil(ttlMs);
    let rows = await this.#db.query<{ expires_at: Date }>(TAKE_SQL, [recordUid, owner, ttl]);
    if (rows.length === 0) {
      const held = await this.#db.query<{ owner: string }>("SELECT owner FROM locks WHERE record_uid = $1", [
        recordUid,
      ]);
      const holder = held[0]?.owner;
      if (holder === undefined) return this.tryLock(recordUid, owner, ttlMs); // released meanwhile
      if (holderMayBeAlive(holder)) return null;
      rows = await this.#db.query<{ expires_at: Date }>(TAKE_FROM_DEAD_SQL, [recordUid, owner, ttl, holder]);
      if (rows.length === 0) return null; // someone else took it first
    }
    return this.#lease(recordUid, owner, ttl, (rows[0] as { expires_at: Date }).expires_at);
  }

  /** Wait for every renew/release started so far (before the pool closes). */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => this.#pending.delete(p);
    p.then(done, done);
    p.catch(() => {}); // the caller may not await it: its failure is reported through the lease instead
    return p;
  }

  #lease(recordUid: string, owner: string, defaultTtl: number, until: Date): Lease {
    let lost = false;
    const lostError = () =>
      conflict(
        `the lock on record ${recordUid} was lost: it expired and another process took it (owner ${owner})`,
        "stop the work on this record; it will be retried by whoever holds the lock now",
      );
    const lease = {
      recordUid,
      owner,
      expiresAt: until.toISOString(),
      renew: (ttlMs: number = defaultTtl): Promise<void> => {
        checkTtl(ttlMs);
        if (lost) throw lostError();
        return this.#track(
          (async () => {
            let rows: Array<{ expires_at: Date }>;
            try {
              rows = await this.#db.query<{ expires_at: Date }>(RENEW_SQL, [
                recordUid,
                owner,
                Math.ceil(ttlMs),
              ]);
            } catch (err) {
              lost = true; // cannot tell whether it is still ours: stop as if lost
              throw err;
            }
            const row = rows[0];
            if (!row) {
              lost = true;
              throw lostError();
            }
            lease.expiresAt = row.expires_at.toISOString();
          })(),
        );
      },
      release: (): Promise<void> =>
        this.#track(
          this.#db
            .query("DELETE FROM locks WHERE record_uid = $1 AND owner = $2", [recordUid, owner])
            .then(() => undefined),
        ),
    };
    return lease;
  }
}
