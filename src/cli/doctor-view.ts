/**
 * `rekey doctor`, pure: its lines as text (one per check, as `keeper-script --check` prints them) and JSON,
 * and the exit code (0 when nothing failed, warnings allowed; 1 otherwise).
 */
import type { PreflightLine } from "../rotation/preflight.js";
import { printable } from "./printable.js";

export interface DoctorLine extends PreflightLine {
  /** The record the check is about; null for the vault. */
  record: { uid: string; title: string } | null;
}

/** `ok   aws: iam:GetUser: …` / `FAIL aws: user id: … — fix: …`, a `record "…" (uid)` line before each record's. */
export function renderDoctor(lines: readonly DoctorLine[]): string {
  const out: string[] = [];
  let current: string | undefined;
  for (const l of lines) {
    const key = l.record ? l.record.uid : "";
    if (l.record && key !== current) out.push(`record "${l.record.title}" (${l.record.uid})`);
    current = key;
    const tag = l.status === "ok" ? "ok  " : l.status;
    const fix = l.status !== "ok" && l.fix ? ` — fix: ${l.fix}` : "";
    out.push(printable(`${l.record ? "  " : ""}${tag} ${l.area}: ${l.check}: ${l.detail}${fix}`));
  }
  return `${out.join("\n")}\n`;
}

export function doctorExitCode(lines: readonly DoctorLine[]): number {
  return lines.some((l) => l.status === "FAIL") ? 1 : 0;
}

/** The last line: how many records, failures and warnings. */
export function doctorSummary(lines: readonly DoctorLine[], records: number): string {
  const failed = lines.filter((l) => l.status === "FAIL").length;
  const warned = lines.filter((l) => l.status === "warn").length;
  return `${records} record(s) checked: ${failed} failure(s), ${warned} warning(s)${failed ? "" : "; nothing stands in the way of the next rotation"}`;
}
