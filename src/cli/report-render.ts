/**
 * `rekey report`, pure: the report as a terminal table, JSON and CSV (report-html.ts: the HTML page).
 * Every value comes from IAM or the vault's record titles; none is a secret.
 */
import { toCommanderCsv } from "../csv/commander-csv.js";
import { neutralizeRows } from "../csv/formula-cells.js";
import { printable } from "./printable.js";
import type { ComplianceReport, ReportKey, ReportUser } from "./report-verdicts.js";
import { renderTable } from "./table.js";

export const REPORT_FORMATS = ["table", "json", "csv", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function lastUsedText(k: ReportKey): string {
  if (k.lastUsed === null) return "never";
  if (k.lastUsed === "denied") return "? (iam:GetAccessKeyLastUsed denied)";
  return `${k.lastUsed.date.slice(0, 16).replace("T", " ")}Z ${k.lastUsed.service}`;
}

export function managedText(u: ReportUser): string {
  if (u.managedBy.length === 0) return "no";
  return u.managedBy.map((m) => `"${m.title}" (${m.uid})${m.note ? ` ${m.note}` : ""}`).join(", ");
}

export function verdictText(k: ReportKey, maxAgeDays: number): string {
  if (k.cis114 === "violation") return `VIOLATION (active, older than ${maxAgeDays}d)`;
  return k.cis114 === "inactive" ? "inactive (listed)" : "ok";
}

export function summaryText(r: ComplianceReport): string {
  const s = r.summary;
  return (
    `account ${r.account}: ${s.users} user(s) (${s.managedUsers} managed by rekey), ${s.keys} key(s) (${s.activeKeys} active); ` +
    `CIS 1.14 (max age ${r.maxAgeDays}d): ${s.violations} violation(s); ${s.unusedKeys} key(s) unused for ${r.unusedDays} days` +
    (s.usersNotReadable > 0 ? `; ${s.usersNotReadable} user(s) whose keys could not be listed` : "")
  );
}

/** One row per key (a user without keys, or whose keys could not be listed, has one row). */
export function renderReportTable(r: ComplianceReport): string {
  const rows: string[][] = [];
  for (const u of r.users) {
    const managed = managedText(u);
    if (u.keys === "denied") {
      rows.push([u.userName, "? (iam:ListAccessKeys denied)", "", "", "", managed, "?", ""]);
      continue;
    }
    if (u.keys.length === 0) rows.push([u.userName, "-", "", "", "", managed, "", ""]);
    for (const [i, k] of u.keys.entries()) {
      rows.push([
        i === 0 ? u.userName : "",
        k.accessKeyId,
        k.status,
        `${k.ageDays}d`,
        lastUsedText(k),
        i === 0 ? managed : "",
        verdictText(k, r.maxAgeDays),
        k.unused ? `unused ${r.unusedDays}d+` : "",
      ]);
    }
  }
  const table = renderTable(
    ["USER", "ACCESS KEY", "STATUS", "AGE", "LAST USED", "MANAGED BY", "CIS 1.14", "FINDING"],
    rows,
  );
  return `${table}${printable(summaryText(r))}\n`;
}

export function renderReportJson(r: ComplianceReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export const CSV_HEADER = [
  "account",
  "user_name",
  "user_id",
  "path",
  "managed_by",
  "access_key_id",
  "status",
  "created",
  "age_days",
  "last_used",
  "last_used_service",
  "last_used_region",
  "cis_1_14",
  "unused_90d",
];

/**
 * One row per key (a user without keys: one row with an empty key; keys not listable: status "?"). Cells
 * that a spreadsheet would run as a formula (a record title "=HYPERLINK(…)") get a leading `'`, as in
 * `rekey export csv`.
 */
export function renderReportCsv(r: ComplianceReport): string {
  const rows: string[][] = [];
  for (const u of r.users) {
    const base = [
      r.account,
      u.userName,
      u.userId,
      u.path,
      u.managedBy.map((m) => `${m.title} (${m.uid})`).join("; "),
    ];
    if (u.keys === "denied") {
      rows.push([...base, "", "?", "", "", "", "", "", "", ""]);
      continue;
    }
    if (u.keys.length === 0) rows.push([...base, "", "", "", "", "", "", "", "", ""]);
    for (const k of u.keys) {
      const used = k.lastUsed;
      rows.push([
        ...base,
        k.accessKeyId,
        k.status,
        k.createDate,
        String(k.ageDays),
        used === null ? "never" : used === "denied" ? "denied" : used.date,
        used && used !== "denied" ? used.service : "",
        used && used !== "denied" ? used.region : "",
        k.cis114,
        k.unused ? "yes" : "no",
      ]);
    }
  }
  return toCommanderCsv([CSV_HEADER, ...neutralizeRows(rows).rows]);
}
