/**
 * The gateway's schedule index, the pure part: what a row says about a record, and which records a tick
 * must decrypt. The I/O is in schedule-index-source.ts; the rows live in the vault (SQLite/PostgreSQL
 * `schedule_index`, vault/async-store.ts ScheduleIndexRow).
 *
 * Why a row may be trusted without a MAC: it only decides *when the gateway looks* at a record, never
 * whether it rotates. A record whose row says "due" is decrypted and planned from the record and its
 * history as before, and a run starts only when that plan says so, under the record's lease, re-checked on
 * fresh data (runner.ts). So a wrong row can at worst:
 * - make a record look due early: one decryption and re-plan, then the row is rewritten;
 * - hide a record that is due (a far-future or null `nextDueAt` with a current revision): the periodic full
 *   pass (`indexVerifySeconds`) decrypts and re-plans every record and rewrites its row, so the run is late
 *   by at most that long. A row of another revision is stale and re-planned at the next tick.
 */
import { managesIamUser } from "../rotation/same-user.js";
import { FIELD, readKeyState } from "../rotation/settings.js";
import type { ScheduleIndexRow } from "../vault/async-store.js";
import { getFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { accountKey, configurationFor } from "./records.js";

export const CONFIGURATION_TYPE = "pamAwsConfiguration";

/**
 * Keyed digests of the IAM user a record manages (as `sameIamUser` compares them: the UserId, else the
 * login in its account scope). Two records that may manage the same user share a digest; the records
 * themselves then decide (same-user.ts).
 */
export function identitiesOf(
  user: StoredRecord,
  configurations: readonly StoredRecord[],
  digest: (value: string) => string,
): string[] {
  if (!managesIamUser(user.record)) return [];
  const out: string[] = [];
  const login = (getFieldValue(user.record, FIELD.login) ?? "").trim().toLowerCase();
  if (login) {
    const scope = accountKey(user.record, configurationFor(user.record, configurations));
    out.push(digest(`login\u0000${scope}\u0000${login}`));
  }
  const userId = readKeyState(user.record).userId;
  if (userId) out.push(digest(`user-id\u0000${userId}`));
  return out;
}

/** The row for a record just planned (or a record that is not planned: a configuration, a login...). */
export function rowFor(
  stored: StoredRecord,
  facts: {
    nextDueAt: number | null;
    lastOutcome: string | null;
    configurationUid: string | null;
    identities: string[];
    now: number;
  },
): ScheduleIndexRow {
  return {
    uid: stored.uid,
    revision: stored.revision,
    type: stored.record.type,
    nextDueAt: facts.nextDueAt,
    lastOutcome: facts.lastOutcome,
    configurationUid: facts.configurationUid,
    identities: facts.identities,
    computedAt: facts.now,
  };
}

/** True when writing `next` over `prev` changes what the row says (computedAt aside). */
export function rowChanged(prev: ScheduleIndexRow | undefined, next: ScheduleIndexRow): boolean {
  return (
    !prev ||
    prev.revision !== next.revision ||
    prev.type !== next.type ||
    prev.nextDueAt !== next.nextDueAt ||
    prev.lastOutcome !== next.lastOutcome ||
    prev.configurationUid !== next.configurationUid ||
    prev.identities.join(" ") !== next.identities.join(" ")
  );
}

export interface IndexState {
  /** Every live record's current revision (clear column). */
  revisions: ReadonlyMap<string, number>;
  rows: ReadonlyMap<string, ScheduleIndexRow>;
}

export interface Staleness {
  /** Records with no row or a row of another revision: decrypt and re-plan. */
  stale: Set<string>;
  /** Rows of records that are gone. */
  gone: string[];
  /** The configurations with a current row (stale ones are known once decrypted). */
  configurationUids: string[];
}

/**
 * What a tick must decrypt, from revisions and rows alone. Stale configurations are included in `stale`;
 * whether they changed is known once decrypted (`configurationsChanged`).
 */
export function staleness(s: IndexState): Staleness {
  const stale = new Set<string>();
  const configurationUids: string[] = [];
  for (const [uid, revision] of s.revisions) {
    const row = s.rows.get(uid);
    if (!row || row.revision !== revision) stale.add(uid);
    else if (row.type === CONFIGURATION_TYPE) configurationUids.push(uid);
  }
  const gone = [...s.rows.keys()].filter((uid) => !s.revisions.has(uid));
  return { stale, gone, configurationUids };
}

/**
 * The pamUser rows a configuration change re-plans: every user when the set of configurations changed,
 * else the users of a changed configuration and those that found none (a renamed one may now match).
 */
export function affectedUsers(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  rows: ReadonlyMap<string, ScheduleIndexRow>,
): Set<string> | "all" {
  if (before.size !== after.size || [...after.keys()].some((uid) => !before.has(uid))) return "all";
  const changed = new Set([...after].filter(([uid, rev]) => before.get(uid) !== rev).map(([uid]) => uid));
  const out = new Set<string>();
  if (changed.size === 0) return out;
  for (const row of rows.values()) {
    if (row.type !== "pamUser") continue;
    if (row.configurationUid === null || changed.has(row.configurationUid)) out.add(row.uid);
  }
  return out;
}

/** pamUser rows whose next due time has come (`nextDueAt` <= now). */
export function dueRows(rows: ReadonlyMap<string, ScheduleIndexRow>, now: number): string[] {
  const out: string[] = [];
  for (const row of rows.values()) {
    if (row.type === "pamUser" && row.nextDueAt !== null && row.nextDueAt <= now) out.push(row.uid);
  }
  return out;
}

/** The earliest `nextDueAt` of the pamUser rows not in `skip` (Infinity when none). */
export function earliestDue(rows: ReadonlyMap<string, ScheduleIndexRow>, skip: ReadonlySet<string>): number {
  let next = Number.POSITIVE_INFINITY;
  for (const row of rows.values()) {
    if (row.type !== "pamUser" || row.nextDueAt === null || skip.has(row.uid)) continue;
    if (row.nextDueAt < next) next = row.nextDueAt;
  }
  return next;
}
