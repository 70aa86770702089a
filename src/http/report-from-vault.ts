/**
 * GET /api/v1/report: `rekey report`'s model (src/cli/report-verdicts.ts buildReport) fed from the vault
 * alone. The API makes no IAM call, so it sees only the managed records' current keys, as Active, with
 * their CreateDate; their last use is unknown (shown as "denied", which the verdicts treat as unknown).
 * Unmanaged users and keys rekey does not hold are in `rekey report`, which reads IAM.
 */
import { buildReport, type ComplianceReport, DAY_MS } from "../cli/report-verdicts.js";
import type { UserStatus } from "../gateway/status.js";

export const VAULT_REPORT_NOTE =
  "From the vault only: each managed record's current key (treated as Active; last use not read). Keys rekey does not manage, and IAM's own view, are in `rekey report`.";

export function vaultReport(rows: readonly UserStatus[], now: Date, maxAgeDays: number): ComplianceReport {
  const users = rows.map((r) => {
    const created = r.keyCreatedAt ? new Date(r.keyCreatedAt) : null;
    return {
      userName: r.user,
      userId: "",
      arn: "",
      path: "",
      createDate: created ?? now,
      keys:
        r.keyId && created
          ? [
              {
                accessKeyId: r.keyId,
                status: "Active" as const,
                createDate: created,
                lastUsed: "denied" as const,
              },
            ]
          : [],
      managedBy: [{ uid: r.uid, title: r.title }],
    };
  });
  return buildReport(users, { account: "", now, maxAgeMs: maxAgeDays * DAY_MS });
}
