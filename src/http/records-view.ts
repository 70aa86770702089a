/**
 * The API's view of `rekey status` rows: which records need a look, most urgent first. Pure.
 */
import { dueNow, type UserStatus } from "../gateway/status.js";
import { ATTENTION, type RecordView } from "./schemas.js";

export type Attention = (typeof ATTENTION)[number];

/**
 * Why a record needs a look: its last attempt failed (or rotated without delivering: script-failed), an
 * old key is held, a rotation is interrupted, its key is past the age limit, or it is due. Null otherwise.
 */
export function attentionOf(row: UserStatus, now: Date, keyAgeLimitDays: number): Attention | null {
  const last = row.lastOutcome?.outcome;
  if (last === "failed" || last === "script-failed") return "failed";
  if (last === "held" || row.previousKeys?.phase === "held") return "held";
  if (row.interrupted) return "interrupted";
  if (row.keyAgeDays !== null && row.keyAgeDays >= keyAgeLimitDays) return "overdue";
  if (dueNow(row, now)) return "due";
  return null;
}

/** The rows as the API serves them: failed and held first (then by ATTENTION's order), then by title. */
export function recordViews(rows: readonly UserStatus[], now: Date, keyAgeLimitDays: number): RecordView[] {
  const rank = (a: Attention | null) => (a === null ? ATTENTION.length : ATTENTION.indexOf(a));
  return rows
    .map((r) => ({ ...r, attention: attentionOf(r, now, keyAgeLimitDays) }))
    .sort((a, b) => rank(a.attention) - rank(b.attention) || a.title.localeCompare(b.title));
}
