/**
 * The vault store port. Callers (CLI, rotation engine, gateway) see only this interface; the local
 * SQLite vault implements it today, Keeper Secrets Manager and PostgreSQL later. Nothing here names
 * SQLite.
 */
import type { KeeperRecord } from "./record.js";

/** A record as stored: its UID, folder, revision and content. */
export interface StoredRecord {
  uid: string;
  /** Folder (shared folder) UID, or null for the vault root. */
  folderUid: string | null;
  /** Starts at 1 and grows by one at each save. */
  revision: number;
  record: KeeperRecord;
  createdAt: string;
  updatedAt: string;
}

export interface Folder {
  uid: string;
  name: string;
  parentUid: string | null;
  /** A shared folder (Keeper's unit of sharing) vs a user sub-folder. */
  shared: boolean;
}

export interface RecordVersion {
  revision: number;
  savedAt: string;
  /** What saved it (the command or actor), e.g. "record edit", "rotate". */
  actor: string;
  record: KeeperRecord;
  /** True for the version that deleted the record (a tombstone keeps the last content). */
  deleted: boolean;
}

export interface AuditEvent {
  /** e.g. "record.create", "record.update", "record.delete", "vault.init", "rotation.complete" */
  action: string;
  recordUid?: string | null;
  /** The command or component that caused it, e.g. "rekey record edit". */
  actor: string;
  /** Extra facts. Never secret values: key ids yes, secrets no. */
  details?: Record<string, unknown>;
}

export interface AuditEntry extends Required<Omit<AuditEvent, "details">> {
  seq: number;
  at: string;
  details: Record<string, unknown>;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The first bad entry's sequence number and what is wrong with it. */
  problem?: { seq: number; reason: string };
}

/** Work in flight (e.g. a rotation between CreateAccessKey and the record save). Encrypted at rest. */
export interface JournalEntry {
  id: string;
  recordUid: string;
  kind: string;
  /** Free-form state; may hold secrets (encrypted at rest like records). */
  state: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** A held per-record lock (a lease: it expires if its holder dies without releasing it). */
export interface Lease {
  recordUid: string;
  owner: string;
  expiresAt: string;
  /**
   * Extend the lease; throws a conflict error if it was lost. A backend whose leases live in a database
   * (PostgreSQL) returns the round trip's promise: a caller may await it, and one that does not learns of
   * a lost lease at its next renew, which then throws.
   */
  renew(ttlMs?: number): void | Promise<void>;
  /** Give the lease up (a database backend returns the statement's promise: await it to be sure it is gone). */
  release(): void | Promise<void>;
}

/**
 * One entry of the rotation history (what the gateway records per attempt). The vault keeps it as an
 * opaque JSON object: it checks only the fields it indexes. The entry may hold script output, so it is
 * encrypted at rest like the journal; it must never hold a Secret object (refused) or a secret value.
 */
export interface RotationHistoryEntry {
  /** Unique per entry; appending an id twice is a conflict. */
  id: string;
  recordUid: string;
  /** ISO 8601: when the attempt started (entries are listed in the order they were appended). */
  startedAt: string;
  [property: string]: unknown;
}

export interface SaveOptions {
  /** The revision the change was based on: a save on a stale revision fails with a conflict error. */
  expectedRevision: number;
  actor: string;
}
