/** How gateway history and status are shown on a terminal: ids, times, outcomes; never secrets. */
import type { RotationAttempt } from "../gateway/history-model.js";
import { dueNow, shortAge, type UserStatus } from "../gateway/status.js";
import { printable } from "./printable.js";
import { renderTable } from "./table.js";

function keys(e: RotationAttempt): string {
  const parts: string[] = [];
  if (e.keyIds.created) parts.push(`+${e.keyIds.created}`);
  for (const k of e.keyIds.deleted) parts.push(`-${k}`);
  for (const k of e.keyIds.deactivated) parts.push(`~${k}`);
  return parts.join(" ");
}

function scripts(e: RotationAttempt): string {
  if (e.scripts.length === 0) return "";
  const ok = e.scripts.filter((s) => s.success).length;
  return `${ok}/${e.scripts.length} ok`;
}

function outcome(e: RotationAttempt): string {
  if (e.outcome !== "failed") return e.outcome;
  return e.final ? "failed" : `failed (retry ${e.nextAttemptAt ?? ""})`;
}

/**
 * One row per attempt; with `withScripts`, each script's result and output below it. Titles, errors,
 * script names and output are escaped (printable): a script's output is whatever it printed.
 */
export function renderHistory(entries: readonly RotationAttempt[], withScripts: boolean): string {
  if (entries.length === 0) return "no rotation history\n";
  if (!withScripts) {
    return renderTable(
      ["STARTED", "RECORD", "TRIGGER", "TRY", "OUTCOME", "KEYS", "SCRIPTS", "ERROR"],
      entries.map((e) => [
        e.startedAt,
        e.recordTitle ?? e.recordUid,
        e.mode === "scripts-only" ? `${e.trigger} (scripts only)` : e.trigger,
        String(e.attempt),
        outcome(e),
        keys(e),
        scripts(e),
        e.error?.message ?? e.skippedReason ?? "",
      ]),
    );
  }
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(
      printable(
        `${e.startedAt}  "${e.recordTitle ?? ""}" (${e.recordUid})  ${e.trigger} #${e.attempt}  ${outcome(e)}  ${keys(e)}`,
      ),
    );
    if (e.error) lines.push(`  error: ${printable(e.error.message)}`);
    for (const s of e.scripts) {
      const how = s.timedOut ? "timed out" : s.exitCode === null ? "did not run" : `exit ${s.exitCode}`;
      lines.push(printable(`  script ${s.name}: ${s.command}, ${how}`));
      for (const [name, text] of [
        ["stdout", s.stdout],
        ["stderr", s.stderr],
      ] as const) {
        if (!text) continue;
        lines.push(`    ${name}:`);
        for (const l of text.replace(/\n$/, "").split("\n")) lines.push(`      ${printable(l)}`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The columns of `rekey status`'s table. */
export const STATUS_HEADERS = [
  "RECORD",
  "USER",
  "KEY",
  "AGE",
  "SCHEDULE",
  "LAST ROTATION",
  "NEXT ROTATION",
  "LAST OUTCOME",
];

export function renderStatus(rows: readonly UserStatus[], now: Date): string {
  if (rows.length === 0) return "no pamUser records\n";
  return renderTable(
    STATUS_HEADERS,
    rows.map((r) => statusCells(r, now)),
  );
}

/** One row of `rekey status`'s table (raw cells: the table escapes them). */
export function statusCells(r: UserStatus, now: Date): string[] {
  const next = !r.nextRotation ? "on demand" : dueNow(r, now) ? "due now" : r.nextRotation;
  const notes: string[] = [];
  if (r.interrupted)
    notes.push(
      `INTERRUPTED rotation pending (journal ${r.interrupted.journalId}, ${r.interrupted.phase} since ${r.interrupted.since}): run rekey repair`,
    );
  if (r.sameUserAs.length)
    notes.push(
      `SAME IAM USER as ${r.sameUserAs.map((o) => `"${o.title}" (${o.uid})`).join(", ")}: not rotated until one record is removed`,
    );
  if (r.lastOutcome) {
    // A held attempt's reason already begins "held: old key still in use (…)".
    const { outcome, error } = r.lastOutcome;
    notes.push(error?.startsWith(`${outcome}: `) ? error : `${outcome}${error ? `: ${error}` : ""}`);
  }
  const p = r.previousKeys;
  if (p) {
    const when = p.nextStepAt ? `next step ${p.nextStepAt}` : "deleted at the next rotation";
    notes.push(
      p.phase === "held"
        ? `OLD KEY ${p.keyIds.join(", ")} HELD: still in use (checked ${p.since}); ${when}`
        : p.phase === "overlap"
          ? `old key ${p.keyIds.join(", ")} Active for the overlap; ${when}`
          : `old key ${p.keyIds.join(", ")} inactive since ${p.since}; ${when}`,
    );
  }
  const last = notes.join("; ");
  return [
    r.title,
    r.user,
    r.keyId ?? "",
    shortAge(r.keyCreatedAt, now),
    r.mode === "scripts-only" ? `${r.schedule} (scripts only)` : r.schedule,
    r.lastRotation ?? "never",
    next,
    last,
  ];
}
