/** `rekey vault copy`: what it prints (pure: the result in, lines and JSON out). No secret is in a result. */
import type { CopyResult } from "../stores/copy.js";

/** The summary lines: what was copied, what was checked, what unlocks the copy. */
export function copyLines(r: CopyResult): string[] {
  const c = r.counts;
  const rows: Array<[string, string]> = [
    ["records", `${c.records}${c.deletedRecords ? ` (+ ${c.deletedRecords} deleted, history kept)` : ""}`],
    ["versions", String(c.versions)],
    ["folders", String(c.folders)],
    [
      "audit entries",
      `${c.auditEntries} copied as they are (+ vault.copy: ${r.targetAuditEntries} in the copy)`,
    ],
    ["journal entries", String(c.journalEntries)],
    ["history entries", String(c.historyEntries)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `copied ${r.source} to ${r.target}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    "verified: the copy, opened afresh with the same key, holds the same rows, record UIDs, revisions, content, versions, folders, journal and rotation history; its audit chain verifies",
    "the same key file or passphrase unlocks it (the key slots were copied); leases were not copied",
    ...(r.sourceAudited
      ? []
      : [
          `note: the source's audit log does not record the copy: ${r.sourceAuditError ?? "it could not be written"}`,
        ]),
  ];
}

export function copyJson(r: CopyResult): Record<string, unknown> {
  return {
    source: r.source,
    target: r.target,
    ...r.counts,
    targetAuditEntries: r.targetAuditEntries,
    verified: true,
    sourceAudited: r.sourceAudited,
  };
}
