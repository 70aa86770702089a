/**
 * The checks every backend's rotation history applies (the local vault's sqlite-history.ts, Keeper's
 * local-history.ts), so both refuse the same entries and filters. Pure; no storage.
 */
import { usageError } from "../errors.js";
import type { RotationHistoryEntry } from "./store.js";

/** @throws usage error unless the entry is an object with an id, a recordUid and an ISO 8601 startedAt. */
export function checkHistoryEntry(entry: RotationHistoryEntry): void {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw usageError("a history entry must be a JSON object", "pass an object");
  }
  const { id, recordUid, startedAt } = entry;
  if (typeof id !== "string" || !id || typeof recordUid !== "string" || !recordUid) {
    throw usageError("a history entry needs an id and a recordUid", "set both");
  }
  if (typeof startedAt !== "string" || Number.isNaN(Date.parse(startedAt))) {
    throw usageError(`history entry ${id}: startedAt must be an ISO 8601 date`, "e.g. 2024-01-01T04:00:00Z");
  }
}

/** @throws usage error when the audit event names another record than the entry. */
export function checkHistoryAudit(entry: RotationHistoryEntry, audit: { recordUid?: string | null }): void {
  if (audit.recordUid != null && audit.recordUid !== entry.recordUid) {
    throw usageError(
      `history entry ${entry.id} is for record ${entry.recordUid}, its audit event for ${audit.recordUid}`,
      "give the audit event the entry's record",
    );
  }
}

/** @throws usage error unless `limit` is absent or a positive integer. */
export function checkHistoryLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw usageError(`a history limit must be a positive integer, not ${limit}`, "e.g. 20");
  }
}
