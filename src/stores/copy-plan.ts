/**
 * `rekey vault copy`, the decisions (pure): whether the source may be copied now and whether the target may
 * receive it. Each refusal is a RekeyError naming the vault and what to do; only "the target already holds
 * this vault's records" is lifted by --force.
 */
import { conflict, RekeyError, usageError } from "../errors.js";
import type { HeldLease } from "./copy-rows.js";

/** What is at the target before the copy (read without unlocking it). */
export type TargetState =
  /** A missing file, or a database without a rekey vault in it (rekey's tables may be there, empty). */
  | { kind: "empty" }
  /** Something that is not a rekey vault (another SQLite database, another file): never overwritten. */
  | { kind: "not-a-vault"; why: string }
  | { kind: "vault"; vaultId: string; records: number; leases: HeldLease[] };

/**
 * A lease held in the source means a rotation (or a gateway) is working on it: its journal and the record
 * save may land after the copy read the rows, and the copy would miss the new secret.
 */
export function checkSourceLeases(leases: readonly HeldLease[], source: string): void {
  if (leases.length === 0) return;
  const first = leases[0]!;
  throw new RekeyError(
    "conflict",
    `${source} is in use: ${leases.length} record lease(s) held, e.g. record ${first.recordUid} by ${first.owner} until ${first.expiresAt}`,
    {
      hint: "stop the gateway (and any rekey rotate) on the source vault, wait for its rotations to finish, then copy; a copy taken during a rotation could miss its journal",
      details: { leases: leases.map((l) => ({ recordUid: l.recordUid, expiresAt: l.expiresAt })) },
    },
  );
}

/**
 * The target may receive the source's vault when it holds no vault, or (with --force) an earlier copy of the
 * same vault. A different vault is never replaced, nor a vault in use, nor something that is not a vault.
 */
export function checkTarget(
  state: TargetState,
  source: { vaultId: string },
  target: string,
  opts: { force: boolean },
): void {
  if (state.kind === "empty") return;
  if (state.kind === "not-a-vault") {
    throw conflict(
      `${target} exists and is not a rekey vault (${state.why}); vault copy never overwrites it`,
      "give --to a new file path or an empty database",
    );
  }
  if (state.vaultId !== source.vaultId) {
    throw conflict(
      `${target} already holds a different rekey vault (another vault id and key slots); vault copy never replaces it, even with --force`,
      "give --to an empty database or a new file path: vault copy creates the target vault itself (do not run rekey init on it first)",
    );
  }
  if (state.leases.length > 0) {
    const first = state.leases[0]!;
    throw conflict(
      `${target} is in use: record ${first.recordUid} is leased by ${first.owner} until ${first.expiresAt}`,
      "stop the gateway that runs on the target vault before replacing it",
    );
  }
  if (state.records > 0 && !opts.force) {
    throw conflict(
      `${target} already holds this vault with ${state.records} record(s) (an earlier copy)`,
      "give --force to replace it with the source's current content",
    );
  }
}

/** The same place twice (a copy onto its own source). */
export function checkNotSelf(sourceKey: string, targetKey: string, target: string): void {
  if (sourceKey === targetKey) {
    throw usageError(
      `${target} is the source vault itself`,
      "give --to another database or file; the source is the vault REKEY_VAULT (or --vault) names",
    );
  }
}
