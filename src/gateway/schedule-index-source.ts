/**
 * Where a gateway pass gets its records: which ones to plan, decrypted only when planned.
 *
 * - `listingSource` (a Keeper vault, or any store without a schedule index): today's behaviour, one
 *   listing per tick (one KSM request) and every record planned at every pass.
 * - `indexedSource` (SQLite, PostgreSQL): the schedule index (schedule-index.ts). A tick reads a change
 *   mark; when nothing changed it reads nothing else. Otherwise it reads revisions and rows (clear
 *   columns) and decrypts only records that are new or changed, that a changed configuration may affect,
 *   or whose row says they are due; plus, every `verifyMs`, every record (the full pass that bounds how
 *   late a wrong row can make a run). Rows of gone records are deleted. Rows are rewritten after each plan.
 */
import type { RotationLogger } from "../rotation/index.js";
import type {
  AsyncVaultStore,
  ScheduleIndexMark,
  ScheduleIndexRow,
  ScheduleIndexStore,
} from "../vault/async-store.js";
import type { StoredRecord } from "../vault/store.js";
import { configurationFor } from "./records.js";
import {
  affectedUsers,
  CONFIGURATION_TYPE,
  dueRows,
  earliestDue,
  identitiesOf,
  rowChanged,
  rowFor,
  staleness,
} from "./schedule-index.js";

export interface RecordSource {
  /** A listing tick: learn what changed in the vault. Throws when the vault cannot be read. */
  list(now: number): Promise<void>;
  /** The UIDs a pass plans, in plan order (beginning at the gateway's spread start); `extra` always. */
  candidates(now: number, extra: Iterable<string>): string[];
  /** The record (decrypted), or undefined when it is gone. */
  load(uid: string): Promise<StoredRecord | undefined>;
  configurations(): readonly StoredRecord[];
  /** A pass planned `user`: what its row now says. */
  planned(
    user: StoredRecord,
    facts: { nextDueAt: number | null; lastOutcome: string | null; now: number },
  ): void;
  /** A job on `uid` ended (`changed`: it wrote the record): re-read and re-plan it. */
  touched(uid: string, changed: boolean): Promise<void>;
  /** What the engine's duplicate check compares `user` with (records that may name the same IAM user). */
  peers(user: StoredRecord): Promise<readonly StoredRecord[]>;
  /** The earliest due time of the records the pass did not plan (`planned`: the pass's candidates). */
  nextOther(planned: ReadonlySet<string>): number;
  /** End of a pass: write the rows it changed. */
  flush(now: number): Promise<void>;
  /** Before an on-demand run outside a pass: make sure configurations are known. */
  prepareManual(): Promise<void>;
}

/** Today's source: the whole vault listed at each tick and planned at each pass. */
export function listingSource(store: AsyncVaultStore, spreadStart: number): RecordSource {
  let listing: StoredRecord[] = [];
  let byUid = new Map<string, StoredRecord>();
  let configurations: StoredRecord[] = [];
  const relist = async () => {
    listing = await store.listRecords();
    byUid = new Map(listing.map((r) => [r.uid, r]));
    configurations = listing.filter((r) => r.record.type === CONFIGURATION_TYPE);
  };
  return {
    list: relist,
    candidates() {
      const from = Math.floor(spreadStart * listing.length);
      return [...listing.slice(from), ...listing.slice(0, from)].map((r) => r.uid);
    },
    async load(uid) {
      return byUid.get(uid);
    },
    configurations: () => configurations,
    planned() {},
    async touched(uid, changed) {
      if (!changed) return;
      const fresh = await store.getRecord(uid);
      const i = listing.findIndex((r) => r.uid === uid);
      if (fresh && i >= 0) listing[i] = fresh;
      else if (!fresh && i >= 0) listing.splice(i, 1);
      if (fresh) byUid.set(uid, fresh);
      else byUid.delete(uid);
    },
    async peers() {
      return listing;
    },
    nextOther: () => Number.POSITIVE_INFINITY,
    async flush() {},
    prepareManual: relist,
  };
}

export interface IndexedSourceOptions {
  store: AsyncVaultStore;
  index: ScheduleIndexStore;
  spreadStart: number;
  /** The full pass: every record decrypted and re-planned this often. */
  verifyMs: number;
  /** When the gateway started (the first full pass is verifyMs after it). */
  startedAt: number;
  logger: RotationLogger;
  /** Told of every decryption (tests, metrics). */
  onDecrypt?: ((count: number) => void) | undefined;
}

/** Above this many records to decrypt, one listing is cheaper than one read each. */
const BULK = 500;

export function indexedSource(o: IndexedSourceOptions): RecordSource {
  const { store, index, logger } = o;
  let mark: ScheduleIndexMark | undefined;
  let revisions = new Map<string, number>();
  let rows = new Map<string, ScheduleIndexRow>();
  /**
   * The earliest due time of all rows, while no row changed (undefined: to be computed): an idle tick
   * before it needs no scan of the rows.
   */
  let earliest: number | undefined;
  /** Listing order, and each UID's place in it. */
  let order: string[] = [];
  let place = new Map<string, number>();
  /** Decrypted configurations, kept between ticks (a handful); their revisions as last planned with. */
  let configs = new Map<string, StoredRecord>();
  let configsKnown = false;
  /** Records to plan at the next pass whatever their row says; cleared once planned. */
  const replan = new Set<string>();
  /** Records decrypted for the listing's pass (dropped at its end). */
  let loaded = new Map<string, StoredRecord>();
  /**
   * The identity digests of `loaded` (undefined: to be computed): the duplicate check's candidates among
   * records that may have no row yet. Computed once, not per rotation: a first pass over N records would
   * otherwise compare each of them with all N.
   */
  let loadedByIdentity: Map<string, StoredRecord[]> | undefined;
  const loadedChanged = () => {
    loadedByIdentity = undefined;
  };
  const writes = new Map<string, ScheduleIndexRow>();
  /** Which rows carry each identity digest (the duplicate check's candidates). */
  const byIdentity = new Map<string, Set<string>>();
  const unlink = (row: ScheduleIndexRow | undefined) => {
    for (const d of row?.identities ?? []) byIdentity.get(d)?.delete(row!.uid);
  };
  const link = (row: ScheduleIndexRow) => {
    for (const d of row.identities) {
      const set = byIdentity.get(d) ?? new Set<string>();
      byIdentity.set(d, set);
      set.add(row.uid);
    }
  };
  let lastFullAt = o.startedAt;

  const decrypted = (n: number) => {
    if (n > 0) o.onDecrypt?.(n);
  };

  const readOne = async (uid: string) => {
    const r = await store.getRecord(uid);
    decrypted(r ? 1 : 0);
    return r;
  };

  /** Decrypt `uids` into `loaded`: one listing when there are many. */
  const loadMany = async (uids: ReadonlySet<string>) => {
    const missing = [...uids].filter((u) => !loaded.has(u));
    if (missing.length > BULK) {
      const all = await store.listRecords();
      decrypted(all.length);
      for (const r of all) loaded.set(r.uid, r);
      loadedChanged();
      return;
    }
    for (const uid of missing) {
      const r = await readOne(uid);
      if (r) loaded.set(uid, r);
    }
    loadedChanged();
  };

  const put = (row: ScheduleIndexRow) => {
    const prev = rows.get(row.uid);
    if (rowChanged(prev, row)) writes.set(row.uid, row);
    unlink(prev);
    link(row);
    rows.set(row.uid, row);
    earliest = undefined;
  };

  const configurationList = () => [...configs.values()];

  /** A record that is not planned (configuration, login, anything else): its row says what it is. */
  const describe = (r: StoredRecord, now: number) =>
    put(
      rowFor(r, {
        nextDueAt: null,
        lastOutcome: null,
        configurationUid: null,
        identities: identitiesOf(r, configurationList(), index.digest.bind(index)),
        now,
      }),
    );

  const source: RecordSource = {
    async list(now) {
      const full = now - lastFullAt >= o.verifyMs;
      // Read before the lists: a change made while they are read moves the mark again (read next tick).
      const fresh = await index.changeMark();
      if (!full && mark && fresh.records === mark.records && fresh.rows === mark.rows) return;
      // Rows: only those written since the last look (ours included), unless the table went away.
      const whole = full || !mark || fresh.rows < mark.rows;
      const recordsMoved = full || !mark || fresh.records !== mark.records;
      const [revs, stored] = await Promise.all([
        recordsMoved ? index.listRecordRevisions() : undefined,
        index.listRows(whole || !mark ? {} : { since: mark.rows }),
      ]);
      mark = fresh;
      if (revs) {
        revisions = new Map(revs.map((r) => [r.uid, r.revision]));
        order = revs.map((r) => r.uid);
        place = new Map(order.map((uid, i) => [uid, i]));
      }
      if (whole) {
        rows = new Map(stored.map((r) => [r.uid, r]));
        byIdentity.clear();
        for (const row of rows.values()) link(row);
      } else {
        for (const r of stored) {
          unlink(rows.get(r.uid));
          link(r);
          rows.set(r.uid, r);
        }
      }
      for (const w of writes.values()) {
        unlink(rows.get(w.uid));
        link(w);
        rows.set(w.uid, w);
      }
      earliest = undefined;
      const st = staleness({ revisions, rows });
      for (const uid of st.gone) {
        unlink(rows.get(uid));
        rows.delete(uid);
      }
      if (st.gone.length > 0) {
        await index.deleteRows(st.gone).catch((err: unknown) => warn(err, "could not delete index rows"));
      }
      if (full) {
        lastFullAt = now;
        await loadMany(new Set(order));
        for (const r of loaded.values()) if (r.record.type === "pamUser") replan.add(r.uid);
      } else await loadMany(st.stale);
      // Configurations first: users' rows (account scope, default schedule) depend on them.
      const configUids = new Set(st.configurationUids);
      for (const uid of st.stale)
        if (loaded.get(uid)?.record.type === CONFIGURATION_TYPE) configUids.add(uid);
      const next = new Map<string, StoredRecord>();
      for (const uid of configUids) {
        const have = loaded.get(uid) ?? configs.get(uid);
        const rec = have && have.revision === revisions.get(uid) ? have : await readOne(uid);
        if (rec && rec.record.type === CONFIGURATION_TYPE) next.set(uid, rec);
      }
      configs = next;
      configsKnown = true;
      loadedChanged(); // identities depend on the configurations (account scope)
      // Compared with the configuration rows, which say what the users' rows were computed with (by this
      // gateway or another, before a restart too).
      const before = new Map(
        [...rows.values()].filter((r) => r.type === CONFIGURATION_TYPE).map((r) => [r.uid, r.revision]),
      );
      const after = new Map([...next].map(([uid, r]) => [uid, r.revision]));
      const affected = affectedUsers(before, after, rows);
      if (affected === "all") {
        const users = new Set([...rows.values()].filter((r) => r.type === "pamUser").map((r) => r.uid));
        for (const uid of users) replan.add(uid);
        await loadMany(users);
      } else for (const uid of affected) replan.add(uid);
      for (const uid of st.stale) {
        const r = loaded.get(uid);
        if (!r) continue;
        if (r.record.type === "pamUser") replan.add(uid);
        else describe(r, now);
      }
      if (full) for (const r of loaded.values()) if (r.record.type !== "pamUser") describe(r, now);
    },

    candidates(now, extra) {
      earliest ??= earliestDue(rows, new Set());
      const due = now >= earliest ? dueRows(rows, now) : [];
      const set = new Set<string>([...replan, ...due, ...extra]);
      if (set.size === 0) return [];
      const n = order.length;
      const from = Math.floor(o.spreadStart * n);
      const key = (uid: string) => {
        const i = place.get(uid);
        return i === undefined ? n : (i - from + n) % n;
      };
      return [...set].sort((a, b) => key(a) - key(b));
    },

    async load(uid) {
      const r = loaded.get(uid) ?? (await readOne(uid));
      // Gone, or not a user any more: nothing to plan (its row is rewritten by the next listing).
      if (r?.record.type !== "pamUser") replan.delete(uid);
      return r;
    },

    configurations: configurationList,

    planned(user, facts) {
      replan.delete(user.uid);
      const configuration = configurationFor(user.record, configurationList());
      put(
        rowFor(user, {
          ...facts,
          configurationUid: configuration?.uid ?? null,
          identities: identitiesOf(user, configurationList(), index.digest.bind(index)),
        }),
      );
    },

    async touched(uid) {
      replan.add(uid);
      loaded.delete(uid);
      loadedChanged();
    },

    async peers(user) {
      const mine = new Set(identitiesOf(user, configurationList(), index.digest.bind(index)));
      const out = new Map<string, StoredRecord>([[user.uid, user]]);
      for (const c of configs.values()) out.set(c.uid, c);
      if (mine.size === 0) return [...out.values()];
      // Records decrypted this pass may not have their row yet (new or changed): those whose digests
      // match, compared as they are (a digest match is a superset of the engine's same-user rule).
      if (!loadedByIdentity) {
        loadedByIdentity = new Map();
        for (const r of loaded.values()) {
          for (const d of identitiesOf(r, configurationList(), index.digest.bind(index))) {
            const list = loadedByIdentity.get(d) ?? [];
            loadedByIdentity.set(d, list);
            list.push(r);
          }
        }
      }
      for (const d of mine) for (const r of loadedByIdentity.get(d) ?? []) out.set(r.uid, r);
      for (const d of mine) {
        for (const uid of byIdentity.get(d) ?? []) {
          if (out.has(uid)) continue;
          const r = loaded.get(uid) ?? (await readOne(uid));
          if (r) out.set(r.uid, r);
        }
      }
      return [...out.values()];
    },

    nextOther(planned) {
      if (planned.size === 0) {
        earliest ??= earliestDue(rows, planned);
        return earliest;
      }
      return earliestDue(rows, planned);
    },

    async flush() {
      loaded = new Map();
      loadedChanged();
      if (writes.size === 0) return;
      const batch = [...writes.values()];
      writes.clear();
      await index.putRows(batch).catch((err: unknown) => warn(err, "could not write index rows"));
    },

    async prepareManual() {
      if (configsKnown) return;
      // Before the first tick: the configurations are not known yet; the one listing tells.
      const all = await store.listRecords();
      decrypted(all.length);
      configs = new Map(all.filter((r) => r.record.type === CONFIGURATION_TYPE).map((r) => [r.uid, r]));
      // Kept for the duplicate check of these runs and the first tick (which would decrypt them anyway).
      for (const r of all) loaded.set(r.uid, r);
      loadedChanged();
    },
  };

  // Index writes are advisory: a failed one costs a re-plan later, never a rotation.
  const warn = (err: unknown, msg: string) =>
    logger.warn({ error: err instanceof Error ? err.message : String(err) }, msg);

  return source;
}
