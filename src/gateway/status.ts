/**
 * `rekey status`: every pamUser record with its key, schedule, last and next rotation and last outcome,
 * computed from the vault alone (the same scheduler the gateway uses, without jitter). Never a secret.
 */

import { JOURNAL_KIND } from "../rotation/journal.js";
import { type AsyncVaultStore, RECORD_PAGE, recordPages } from "../vault/async-store.js";
import type { KeeperRecord } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { lastSucceeded, type RotationAttempt } from "./history-model.js";
import { parseAttempt } from "./history-schema.js";
import { configurationFor } from "./records.js";
import { describeSchedule, type Schedule } from "./schedule.js";
import { effectiveSchedule, readRecordSchedule } from "./schedule-field.js";
import { planRun } from "./scheduler.js";
import { type StatusFacts, scheduleRecord, statusFacts } from "./status-facts.js";
import { sameUserIndex, type UserIdentity } from "./status-same-user.js";

export interface UserStatus {
  uid: string;
  title: string;
  /** The IAM user name. */
  user: string;
  keyId: string | null;
  /** The key's CreateDate (ISO 8601), if recorded. */
  keyCreatedAt: string | null;
  keyAgeDays: number | null;
  mode: "rotate" | "scripts-only";
  schedule: string;
  scheduleSource: "record" | "configuration" | "none" | "invalid";
  /** The last successful rotation (history), else the key's CreateDate. */
  lastRotation: string | null;
  /** Next due time (unjittered), or null when on demand only. A past time means due now. */
  nextRotation: string | null;
  /** Other records that manage the same IAM user: none of them is rotated until one is removed. */
  sameUserAs: Array<{ uid: string; title: string }>;
  /**
   * A rotation journal is pending for the record: a rotation was interrupted (crash, kill, second Ctrl-C)
   * or is running right now. `rekey repair` (or the next rotation) finishes or undoes it.
   */
  interrupted: { journalId: string; phase: string; since: string } | null;
  /**
   * Keys replaced by a rotation and not yet deleted (rotation/retire.ts): "held" (an application still used
   * one after the new key existed), "overlap" (kept Active on purpose), "inactive" (deactivated, waiting
   * for its grace or the next rotation). `nextStepAt`: when a gateway or `rekey repair` takes the next step.
   */
  previousKeys: {
    keyIds: string[];
    phase: "held" | "overlap" | "inactive";
    since: string | null;
    nextStepAt: string | null;
  } | null;
  lastOutcome: {
    outcome: RotationAttempt["outcome"];
    at: string;
    trigger: RotationAttempt["trigger"];
    attempt: number;
    final: boolean;
    error: string | null;
    nextAttemptAt: string | null;
  } | null;
}

/** Progress of a status over a large vault: `read` records of the first pass, then `done` rows of `total`. */
export type StatusProgress =
  | { phase: "reading"; read: number }
  | { phase: "computing"; done: number; total: number };

export interface StatusOptions {
  /** Called after each page of records (never for each record): for a progress line. */
  onProgress?: ((p: StatusProgress) => void) | undefined;
  /**
   * The records to compute from, in listing order (default: `recordPages(store)`). The CLI gives the listing
   * cache's summaries (vault/listing-cache.ts): a status reads no secret.
   */
  records?: AsyncIterable<ListedForStatus[]> | undefined;
}

/**
 * A listed record, with its status facts (`derived`) when the listing cache keeps them (the CLI's listing
 * derives them with statusFacts: cli/listing.ts); else they are computed here.
 */
export type ListedForStatus = StoredRecord & { readonly derived?: StatusFacts | null | undefined };

/** Every pamUser's status, in listing order, as one array (statusPages gives them a page at a time). */
export async function computeStatus(
  store: AsyncVaultStore,
  now: Date = new Date(),
  opts: StatusOptions = {},
): Promise<UserStatus[]> {
  const rows: UserStatus[] = [];
  for await (const page of statusPages(store, now, opts)) rows.push(...page);
  return rows;
}

/**
 * Every pamUser's status, in listing order, a page of rows at a time (RECORD_PAGE each: what `rekey status`
 * writes, one JSON text a page). The records are read a page at a time (`opts.records`, the CLI's listing
 * cache; else `recordPages`: SQLite and PostgreSQL never hold them all), once: each user's row is computed
 * from its page (from its status facts) and kept (a row is small: no secret, no field list), then completed with what only the whole vault tells (the other
 * records of a same-IAM-user group; the schedule inherited from a PAM configuration listed after the user) and
 * yielded, dropped as it goes. Reading the records twice instead (a first pass for the configurations and
 * identities) would keep less, but decrypts every record twice: at 100,000 records it took about twice as long.
 */
export async function* statusPages(
  store: AsyncVaultStore,
  now: Date = new Date(),
  opts: StatusOptions = {},
): AsyncGenerator<UserStatus[]> {
  const journals = new Map<string, { journalId: string; phase: string; since: string }>();
  for (const j of await store.listJournal({ kind: JOURNAL_KIND })) {
    if (journals.has(j.recordUid)) continue;
    const phase = typeof j.state.phase === "string" ? j.state.phase : "unknown";
    journals.set(j.recordUid, { journalId: j.id, phase, since: j.createdAt });
  }
  const byRecord = new Map<string, RotationAttempt[]>();
  for (const raw of await store.listRotationHistory()) {
    let e: RotationAttempt;
    try {
      e = parseAttempt(raw);
    } catch {
      continue;
    }
    const list = byRecord.get(e.recordUid) ?? [];
    list.push(e);
    byRecord.set(e.recordUid, list);
  }
  const configurations: StoredRecord[] = [];
  const context: RowContext = { now, configurations, journals, byRecord };
  const rows: Array<UserStatus | undefined> = [];
  const users: UserIdentity[] = [];
  /** Rows whose schedule is inherited: the configurations they were computed with, and their reference. */
  const inherited: Array<{ row: number; seen: number; ref: string }> = [];
  let read = 0;
  for await (const page of opts.records ?? recordPages(store)) {
    for (const s of page) {
      if (s.record.type === "pamAwsConfiguration") configurations.push(s);
      if (s.record.type !== "pamUser") continue;
      const facts = (s as ListedForStatus).derived ?? statusFacts(s.record);
      const title = s.record.title;
      users.push({ uid: s.uid, title, id: facts.identity });
      const sched = scheduleRecord(title, facts);
      if (ownSchedule(sched) === undefined) {
        inherited.push({ row: rows.length, seen: configurations.length, ref: facts.configurationRef });
      }
      rows.push(statusRow(s.uid, title, facts, sched, context));
    }
    read += page.length;
    opts.onProgress?.({ phase: "reading", read });
  }
  // A configuration listed after a user it applies to: that user's schedule again, with all of them.
  for (const { row, seen, ref } of inherited) {
    if (seen === configurations.length) continue;
    const r = rows[row]!;
    // Its own schedule field is none (it inherits): the record scheduleOf reads is the reference alone.
    const sched = scheduleRecord(r.title, { configurationRef: ref, scheduleField: null });
    Object.assign(r, scheduleOf(r.uid, sched, context, parseIso(r.keyCreatedAt)));
  }
  const sameUser = sameUserIndex(users);
  users.length = 0;
  const total = rows.length;
  for (let i = 0; i < total; i += RECORD_PAGE) {
    const page: UserStatus[] = [];
    for (let j = i; j < Math.min(total, i + RECORD_PAGE); j++) {
      const row = rows[j]!;
      rows[j] = undefined; // written: its memory may go
      row.sameUserAs = sameUser.get(row.uid) ?? [];
      page.push(row);
    }
    yield page;
    opts.onProgress?.({ phase: "computing", done: i + page.length, total });
  }
}

/** The user's own schedule field: undefined when it has none (it inherits its configuration's default). */
function ownSchedule(r: KeeperRecord): Schedule | "invalid" | undefined {
  try {
    return readRecordSchedule(r);
  } catch {
    return "invalid";
  }
}

const parseIso = (iso: string | null) => (iso === null ? null : new Date(iso));

/** What a row needs beyond its own record. */
interface RowContext {
  now: Date;
  configurations: StoredRecord[];
  journals: Map<string, { journalId: string; phase: string; since: string }>;
  byRecord: Map<string, RotationAttempt[]>;
}

/** A user's row; `sameUserAs` is filled in by the caller (it needs every record). */
function statusRow(
  uid: string,
  title: string,
  f: StatusFacts,
  sched: KeeperRecord,
  c: RowContext,
): UserStatus {
  const { now } = c;
  const history = c.byRecord.get(uid) ?? [];
  const keyCreated = parseIso(f.keyCreatedAt);
  const { schedule, scheduleSource, nextRotation } = scheduleOf(uid, sched, c, keyCreated);
  const last = history.reduce<RotationAttempt | undefined>(
    (a, e) => (!a || Date.parse(e.startedAt) >= Date.parse(a.startedAt) ? e : a),
    undefined,
  );
  const success = lastSucceeded(history);
  return {
    uid,
    title,
    user: f.user,
    keyId: f.keyId,
    keyCreatedAt: f.keyCreatedAt,
    keyAgeDays: keyCreated ? Math.floor((now.getTime() - keyCreated.getTime()) / 86_400_000) : null,
    mode: f.scriptsOnly ? "scripts-only" : "rotate",
    schedule,
    scheduleSource,
    lastRotation: success?.endedAt ?? f.keyCreatedAt,
    nextRotation,
    sameUserAs: [],
    interrupted: c.journals.get(uid) ?? null,
    previousKeys: f.previousKeys,
    lastOutcome: last
      ? {
          outcome: last.outcome,
          at: last.endedAt ?? last.startedAt,
          trigger: last.trigger,
          attempt: last.attempt,
          final: last.final,
          error: last.error?.message ?? last.heldReason ?? null,
          nextAttemptAt: last.nextAttemptAt,
        }
      : null,
  };
}

/** "due now" as `rekey status` shows it: the next rotation is at or before now (also `rotate --due`). */
export function dueNow(row: Pick<UserStatus, "nextRotation">, now: Date): boolean {
  return row.nextRotation !== null && Date.parse(row.nextRotation) <= now.getTime();
}

/** The schedule that applies to the user (its own, else its configuration's) and its next due time. */
function scheduleOf(
  uid: string,
  r: KeeperRecord,
  c: RowContext,
  keyCreated: Date | null,
): Pick<UserStatus, "schedule" | "scheduleSource" | "nextRotation"> {
  const { now } = c;
  try {
    const eff = effectiveSchedule(r, configurationFor(r, c.configurations)?.record);
    const run = planRun(
      {
        uid,
        schedule: eff.schedule,
        keyCreatedAt: keyCreated,
        history: c.byRecord.get(uid) ?? [],
        firstSeenAt: now,
      },
      { now, startedAt: now, maxJitterMs: 0 },
    );
    return {
      schedule: describeSchedule(eff.schedule),
      scheduleSource: eff.source,
      nextRotation: run ? run.at.toISOString() : null,
    };
  } catch (err) {
    return { schedule: (err as Error).message, scheduleSource: "invalid", nextRotation: null };
  }
}

/** "3d", "5h", "12m", "40s": a short age for tables. */
export function shortAge(fromIso: string | null, now: Date): string {
  if (!fromIso) return "";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 1000));
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}
