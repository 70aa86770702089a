/**
 * `rekey vault copy`: what a backend provides to be a copy source or target. One entry per backend in the
 * copier's table (copy.ts); a backend without an entry (Keeper) is refused there, in one place.
 */
import type { AsyncVaultStore } from "../vault/async-store.js";
import type { UnlockSource } from "../vault/keys.js";
import type { AuditEvent } from "../vault/store.js";
import type { VaultRows } from "./copy-rows.js";

/** A vault opened for reading (the source, or the target after the copy). */
export interface VaultView {
  store: AsyncVaultStore;
  /** Every row as stored, one consistent snapshot. */
  rows: VaultRows;
  description: string;
}

/** The source, open and unlocked. */
export interface OpenedSource {
  store: AsyncVaultStore;
  description: string;
  exportRows(): Promise<VaultRows>;
  close(): Promise<void>;
}

export interface CopySource<L> {
  open(location: L, unlock: UnlockSource, env: NodeJS.ProcessEnv): Promise<OpenedSource>;
}

export interface TargetWriteOptions {
  /** Replace an earlier copy of the same vault that holds records. */
  force: boolean;
  /** What unlocked the source: it must unlock the copy too (the key slots are copied). */
  unlock: UnlockSource;
  /** The target's `vault.copy` audit entry, appended after the copied log in the same transaction. */
  event: AuditEvent;
  /**
   * Check the copy, opened afresh with `unlock`: before it takes the target's place where the backend
   * stages it (SQLite), after the commit where it cannot (PostgreSQL). Throws when it does not match.
   */
  verify(view: VaultView): Promise<void>;
}

export interface CopyTarget<L> {
  /** The target for messages and the audit log (never a password). */
  describe(location: L): string;
  write(location: L, rows: VaultRows, opts: TargetWriteOptions): Promise<void>;
}
