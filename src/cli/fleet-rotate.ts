/**
 * `rekey rotate --all | --folder | --older-than | --due`: rotate the selected records, a few at a time,
 * each through the very path `rekey rotate RECORD` takes (gateway/manual.ts: the record's lease, the
 * engine, its scripts, the history entry, the webhooks; --dry-run: the engine's plan), then say what
 * happened to each. One record's failure never stops the others; Ctrl-C stops starting new ones.
 *
 * Exit code (fleetVerdict): each record gets the code `rekey rotate RECORD` would have exited with;
 * the fleet exits 130 when interrupted, else with the first (in summary order) code of a record that was
 * not rotated (3 not found, 4 conflict or held by another rotation, 5 auth, 7 AWS, 1 internal...), else 8
 * when a record was rotated but its post-rotation scripts failed, else 0.
 */
import { type ErrorKind, exitCodeOf, RekeyError } from "../errors.js";
import type { GatewayConfig } from "../gateway/config.js";
import type { Outcome, RotationAttempt } from "../gateway/history-model.js";
import type { Pacers } from "../gateway/pacer.js";
import { loginOf } from "../gateway/records.js";
import type { RotateOptions, RotationLogger, RotationResult } from "../rotation/index.js";
import { isLockHeld } from "../rotation/lock-held.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import type { StoredRecord } from "../vault/store.js";
import { printable } from "./printable.js";
import type { ProgressState } from "./progress.js";
import { renderTable } from "./table.js";

/** The history outcomes, "planned" for --dry-run, "not started" after Ctrl-C. */
export type FleetOutcome = Outcome | "planned" | "not started";

export interface FleetRecordResult {
  recordUid: string;
  recordTitle: string;
  /** The IAM user name (the record's login). */
  user: string;
  outcome: FleetOutcome;
  newKeyId: string | null;
  deleted: string[];
  deactivated: string[];
  /** What went wrong (never a secret: rotation errors carry key ids, never secret keys). */
  error: { message: string; kind: string; hint?: string | undefined } | null;
  /** What `rekey rotate RECORD` would have exited with. */
  exitCode: number;
  /** The rotation history entry's id, when one was written. */
  attemptId: string | null;
  /** --dry-run: the engine's plan. */
  plan?: RotationResult | undefined;
}

export interface FleetProgress {
  total: number;
  started: number;
  ok: number;
  failed: number;
  running: number;
}

/**
 * Runs `work` over `items`, at most `concurrency` at once, in order; once `signal` is aborted no new
 * item starts (the running ones see the same signal and finish or undo their step). Returns one result
 * per item, in the items' order: `notStarted(item)` for those never started.
 */
export async function runPool<T, R>(
  items: readonly T[],
  o: {
    concurrency: number;
    signal: AbortSignal;
    work: (item: T) => Promise<R>;
    notStarted: (item: T) => R;
    onStart?: (item: T) => void;
    onDone?: (item: T, result: R) => void;
  },
): Promise<R[]> {
  const results: Array<R | undefined> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !o.signal.aborted) {
      const i = next++;
      const item = items[i]!;
      o.onStart?.(item);
      const r = await o.work(item);
      results[i] = r;
      o.onDone?.(item, r);
    }
  };
  const workers = Math.max(1, Math.min(o.concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return items.map((item, i) => results[i] ?? o.notStarted(item));
}

export interface FleetRotateOptions {
  store: AsyncVaultStore;
  records: readonly StoredRecord[];
  concurrency: number;
  /** Ctrl-C: no new rotation starts; the running ones get it too (the engine finishes or undoes its step). */
  signal: AbortSignal;
  /** Engine options from the command line, as the single rotation takes them. */
  rotate: Partial<RotateOptions>;
  dryRun: boolean;
  /** The gateway configuration (webhooks, script timeout, engine defaults); unused with --dry-run. */
  config: GatewayConfig | undefined;
  scripts: boolean;
  actor: string;
  logger: RotationLogger;
  env?: Record<string, string | undefined> | undefined;
  onProgress?: ((p: FleetProgress) => void) | undefined;
}

export async function rotateFleet(o: FleetRotateOptions): Promise<FleetRecordResult[]> {
  const progress: FleetProgress = { total: o.records.length, started: 0, ok: 0, failed: 0, running: 0 };
  // One pace per AWS account and service for the whole run, as the gateway has (gateway/pacer.ts).
  const pacers = o.dryRun
    ? undefined
    : (await import("../gateway/pacer.js")).createPacers({
        maxRate: o.config?.throttle.maxRequestsPerSecond,
        logger: o.logger,
      });
  const one = o.dryRun ? (r: StoredRecord) => planOne(o, r) : (r: StoredRecord) => rotateOne(o, r, pacers);
  return runPool(o.records, {
    concurrency: o.concurrency,
    signal: o.signal,
    work: one,
    notStarted: (r) => base(r, "not started", new RekeyError("interrupted", "not started: interrupted")),
    onStart: () => {
      progress.started++;
      progress.running++;
      o.onProgress?.({ ...progress });
    },
    onDone: (_r, res) => {
      progress.running--;
      if (res.exitCode === 0) progress.ok++;
      else progress.failed++;
      o.onProgress?.({ ...progress });
    },
  });
}

/** The single rotation's path (rotateManually), its outcome mapped as `rekey rotate RECORD` maps it. */
async function rotateOne(
  o: FleetRotateOptions,
  r: StoredRecord,
  pacers: Pacers | undefined,
): Promise<FleetRecordResult> {
  const { rotateManually } = await import("../gateway/manual.js");
  try {
    const out = await rotateManually({
      store: o.store,
      config: o.config!,
      ref: r.uid,
      rotate: { ...o.rotate, signal: o.signal },
      scripts: o.scripts,
      actor: o.actor,
      logger: o.logger,
      env: o.env,
      pacers,
    });
    return fromAttempt(r, out.entry, out.result, out.failure);
  } catch (err) {
    // Held by a gateway or another `rekey rotate` (nothing recorded), the record gone, the vault refused.
    return base(r, isLockHeld(err) ? "skipped" : "failed", err);
  }
}

/** --dry-run: the engine's plan for the record, as `rekey rotate RECORD --dry-run` makes it. */
async function planOne(o: FleetRotateOptions, r: StoredRecord): Promise<FleetRecordResult> {
  const { rotateRecord } = await import("../rotation/index.js");
  try {
    const plan = await rotateRecord(o.store, r.uid, { ...o.rotate, dryRun: true });
    return { ...base(r, "planned", undefined), plan };
  } catch (err) {
    return base(r, "failed", err);
  }
}

export function fromAttempt(
  r: StoredRecord,
  entry: RotationAttempt,
  result: RotationResult | undefined,
  failure: unknown,
): FleetRecordResult {
  const res = base(r, entry.outcome, failure);
  res.newKeyId = entry.keyIds.created ?? result?.created?.accessKeyId ?? null;
  res.deleted = [...entry.keyIds.deleted];
  res.deactivated = [...entry.keyIds.deactivated];
  res.attemptId = entry.id;
  if (failure === undefined && entry.error)
    res.error = { ...entry.error, kind: entry.error.kind ?? "internal" };
  if (failure === undefined && entry.outcome === "script-failed")
    res.exitCode = exitCodeOf(new RekeyError("delivery", ""));
  return res;
}

function base(r: StoredRecord, outcome: FleetOutcome, failure: unknown): FleetRecordResult {
  return {
    recordUid: r.uid,
    recordTitle: r.record.title,
    user: loginOf(r.record),
    outcome,
    newKeyId: null,
    deleted: [],
    deactivated: [],
    error: failure === undefined ? null : errorOf(failure),
    exitCode: failure === undefined ? 0 : exitCodeOf(failure),
    attemptId: null,
  };
}

function errorOf(err: unknown): NonNullable<FleetRecordResult["error"]> {
  if (err instanceof RekeyError)
    return { message: err.message, kind: err.kind, ...(err.hint ? { hint: err.hint } : {}) };
  return { message: err instanceof Error ? err.message : String(err), kind: "internal" };
}

/**
 * Why the fleet run as a whole fails, or null when every record's own code is 0 (see the file's
 * comment): the kind gives the exit code (errors.ts), the record is the one it was taken from.
 */
export function fleetVerdict(
  results: readonly FleetRecordResult[],
  interrupted: boolean,
): { kind: ErrorKind; record: FleetRecordResult | undefined } | null {
  if (interrupted) return { kind: "interrupted", record: undefined };
  const delivery = exitCodeOf(new RekeyError("delivery", ""));
  const notRotated = results.find((r) => r.exitCode !== 0 && r.exitCode !== delivery);
  if (notRotated) return { kind: kindOf(notRotated), record: notRotated };
  const undelivered = results.find((r) => r.exitCode === delivery);
  return undelivered ? { kind: "delivery", record: undelivered } : null;
}

function kindOf(r: FleetRecordResult): ErrorKind {
  const kind = r.error?.kind as ErrorKind | undefined;
  // The record's code came from this kind (exitCodeOf); a foreign kind ("script") cannot reach here.
  return kind !== undefined && exitCodeOf(new RekeyError(kind, "")) === r.exitCode ? kind : "internal";
}

/** What the progress line says of a fleet run: "rotating: 12 / 40 records (30%), 9 ok, 1 failed, 2 running". */
export function fleetProgressState(p: FleetProgress, dryRun = false): ProgressState {
  return {
    label: dryRun ? "planning" : "rotating",
    done: p.started,
    total: p.total,
    unit: "records",
    detail: `${p.ok} ok, ${p.failed} failed, ${p.running} running`,
  };
}

const ERROR_WIDTH = 120;

/** The summary table: one row per record, in selection order, then the counts. */
export function renderFleetSummary(results: readonly FleetRecordResult[]): string {
  if (results.length === 0) return "";
  const table = renderTable(
    ["RECORD", "IAM USER", "OUTCOME", "NEW KEY", "ERROR"],
    results.map((r) => [r.recordTitle, r.user, r.outcome, r.newKeyId ?? "", shortError(r.error?.message)]),
  );
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const tally = [...counts].map(([k, n]) => `${n} ${k}`).join(", ");
  return `${table}${printable(`${results.length} record(s): ${tally}`)}\n`;
}

/** The error's first line, cut to fit a table cell (the whole text is in --json and `rekey history`). */
export function shortError(message: string | undefined): string {
  if (!message) return "";
  const first = message.split("\n")[0] ?? "";
  return first.length > ERROR_WIDTH ? `${first.slice(0, ERROR_WIDTH - 1)}…` : first;
}
