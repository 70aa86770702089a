/**
 * `rekey report`, pure: each key's verdicts and the report's model (what every format shows). No I/O:
 * the command reads IAM and the vault (iam-inventory.ts), then hands the facts here.
 *
 * CIS AWS Foundations 1.14 ("ensure access keys are rotated every 90 days or less"): an ACTIVE key older
 * than the limit is a violation. An inactive key signs nothing, so it is listed but is no violation.
 * Separately, a key with no use in the last 90 days (never used and older than 90 days, or last used more
 * than 90 days ago) is a finding: a key nobody uses should not exist (CIS 1.12's spirit). A key whose last
 * use the credentials may not read is neither: unknown, shown as such.
 */
import type { DiscoveredKey } from "../providers/aws-iam/discover.js";
import type { ManagingRecord, UserView } from "./discover-view.js";

export const DAY_MS = 86_400_000;
/** The "unused" window, fixed by the report's definition (not --max-age). */
export const UNUSED_DAYS = 90;

export interface KeyVerdict {
  /** CIS 1.14: Active and older than the limit. */
  violation: boolean;
  /** No use in the last UNUSED_DAYS days (never used counts from the key's creation). */
  unused: boolean;
}

/** The verdicts of one key at `now` under a key age limit of `maxAgeMs`. */
export function keyVerdict(
  key: Pick<DiscoveredKey, "status" | "createDate" | "lastUsed">,
  now: Date,
  maxAgeMs: number,
): KeyVerdict {
  const ageMs = now.getTime() - key.createDate.getTime();
  const unusedMs = UNUSED_DAYS * DAY_MS;
  let unused: boolean;
  if (key.lastUsed === "denied") unused = false;
  else if (key.lastUsed === null) unused = ageMs > unusedMs;
  else unused = now.getTime() - key.lastUsed.date.getTime() > unusedMs;
  return { violation: key.status === "Active" && ageMs > maxAgeMs, unused };
}

export interface ReportKey {
  accessKeyId: string;
  status: "Active" | "Inactive";
  createDate: string;
  ageDays: number;
  /** null: never used; "denied": iam:GetAccessKeyLastUsed was refused. */
  lastUsed: { date: string; service: string; region: string } | null | "denied";
  cis114: "violation" | "ok" | "inactive";
  unused: boolean;
}

export interface ReportUser {
  userName: string;
  userId: string;
  arn: string;
  path: string;
  managed: boolean;
  managedBy: ManagingRecord[];
  /** "denied": iam:ListAccessKeys was refused for this user. */
  keys: ReportKey[] | "denied";
}

export interface ReportSummary {
  users: number;
  managedUsers: number;
  keys: number;
  activeKeys: number;
  violations: number;
  unusedKeys: number;
  /** Users whose keys could not be listed (iam:ListAccessKeys denied). */
  usersNotReadable: number;
}

export interface ComplianceReport {
  generatedAt: string;
  account: string;
  maxAgeDays: number;
  unusedDays: number;
  summary: ReportSummary;
  users: ReportUser[];
}

/** The report of `users` (as discover sees them) at `now`. Never holds a secret: AWS never lists one. */
export function buildReport(
  users: readonly UserView[],
  o: { account: string; now: Date; maxAgeMs: number },
): ComplianceReport {
  const summary: ReportSummary = {
    users: users.length,
    managedUsers: 0,
    keys: 0,
    activeKeys: 0,
    violations: 0,
    unusedKeys: 0,
    usersNotReadable: 0,
  };
  const out: ReportUser[] = users.map((u) => {
    const managed = u.managedBy.length > 0;
    if (managed) summary.managedUsers++;
    if (u.keys === "denied") summary.usersNotReadable++;
    const keys =
      u.keys === "denied"
        ? ("denied" as const)
        : u.keys.map((k): ReportKey => {
            const v = keyVerdict(k, o.now, o.maxAgeMs);
            summary.keys++;
            if (k.status === "Active") summary.activeKeys++;
            if (v.violation) summary.violations++;
            if (v.unused) summary.unusedKeys++;
            return {
              accessKeyId: k.accessKeyId,
              status: k.status,
              createDate: k.createDate.toISOString(),
              ageDays: Math.floor((o.now.getTime() - k.createDate.getTime()) / DAY_MS),
              lastUsed:
                k.lastUsed === null || k.lastUsed === "denied"
                  ? k.lastUsed
                  : {
                      date: k.lastUsed.date.toISOString(),
                      service: k.lastUsed.service,
                      region: k.lastUsed.region,
                    },
              cis114: v.violation ? "violation" : k.status === "Active" ? "ok" : "inactive",
              unused: v.unused,
            };
          });
    return {
      userName: u.userName,
      userId: u.userId,
      arn: u.arn,
      path: u.path,
      managed,
      managedBy: u.managedBy.map((m) => ({
        uid: m.uid,
        title: m.title,
        ...(m.note ? { note: m.note } : {}),
      })),
      keys,
    };
  });
  return {
    generatedAt: o.now.toISOString(),
    account: o.account,
    maxAgeDays: o.maxAgeMs / DAY_MS,
    unusedDays: UNUSED_DAYS,
    summary,
    users: out,
  };
}
