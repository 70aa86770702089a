/**
 * `rekey vault copy`: the whole vault REKEY_VAULT names (the source) into another backend (the target),
 * verified. Backend-neutral: each backend that can take part is one entry of COPY_BACKENDS (its source and
 * target sides, loaded only when used); Keeper has none, and is refused here, in one place.
 *
 * Order of work, and why:
 * 1. Open the source (its normal open path: unlock, integrity checks), verify its audit chain, read every
 *    row in one snapshot, refuse if a lease is held (a rotation in flight could land after the snapshot).
 * 2. The target side checks what is there (copy-plan.ts), unlocks the copied key slots with the source's key
 *    (the copy must open with it), writes all rows at once or nothing (SQLite: a staged file renamed into
 *    place; PostgreSQL: one transaction) and appends `vault.copy` to the copied audit log.
 * 3. The copy, opened afresh, is compared with the source (copy-verify.ts).
 * 4. The source records the copy in its own audit log (best effort: a read-only source is still copied).
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { RekeyError, usageError } from "../errors.js";
import type { UnlockSource } from "../vault/keys.js";
import type { AuditEvent } from "../vault/store.js";
import type { CopySource, CopyTarget } from "./copy-backend.js";
import { checkNotSelf, checkSourceLeases } from "./copy-plan.js";
import { type CopyCounts, countRows } from "./copy-rows.js";
import { verifyCopy } from "./copy-verify.js";
import { resolveVaultLocation, type VaultLocation } from "./open.js";

type Backend = "sqlite" | "postgres";
type LocationOf<B extends Backend> = Extract<VaultLocation, { backend: B }>;

interface CopyBackend<B extends Backend> {
  load(): Promise<{ source: CopySource<LocationOf<B>>; target: CopyTarget<LocationOf<B>> }>;
  /** Two locations with the same key are the same vault. */
  placeKey(location: LocationOf<B>): string;
}

/** Every backend a vault can be copied from and to (see the file comment). */
const COPY_BACKENDS: { [B in Backend]: CopyBackend<B> } = {
  sqlite: {
    load: async () => {
      const m = await import("./sqlite/sqlite-import.js");
      return { source: m.sqliteCopySource, target: m.sqliteCopyTarget };
    },
    placeKey: (l) => `sqlite:${realPath(l.path)}`,
  },
  postgres: {
    load: async () => {
      const m = await import("./postgres/pg-import.js");
      return { source: m.postgresCopySource, target: m.postgresCopyTarget };
    },
    placeKey: (l) => {
      const u = new URL(l.url);
      return `postgres:${u.hostname.toLowerCase()}:${u.port || "5432"}${decodeURIComponent(u.pathname)}`;
    },
  },
};

/** The file after symlinks (its directory's, when the file does not exist yet). */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(path)), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

function copyable(location: VaultLocation, role: string): location is LocationOf<Backend> {
  if (location.backend in COPY_BACKENDS) return true;
  throw usageError(
    `rekey vault copy copies rekey's own vaults (a SQLite file or PostgreSQL), and the ${role} is a Keeper vault`,
    "a Keeper vault is copied and moved in Keeper itself; give a SQLite path or a postgres:// URL",
  );
}

/** The target named by --to: a postgres:// URL, sqlite:PATH or a plain path. */
export function targetLocation(to: string): VaultLocation {
  try {
    return resolveVaultLocation({ REKEY_VAULT: to });
  } catch (err) {
    if (err instanceof RekeyError && err.kind === "usage") {
      throw usageError(
        `--to: ${err.message.replace(/REKEY_VAULT/g, "the target")}`,
        "give --to postgres://USER@HOST:PORT/DB (password from PGPASSWORD or ~/.pgpass) or a SQLite file path",
      );
    }
    throw err;
  }
}

export interface CopyRequest {
  env: NodeJS.ProcessEnv;
  /** --to */
  to: string;
  force: boolean;
  /** Unlocks the source, and the copy (the key slots are copied). */
  unlock: UnlockSource;
  actor: string;
}

export interface CopyResult {
  source: string;
  target: string;
  counts: CopyCounts;
  /** The copy's audit entries: the source's, then its own `vault.copy`. */
  targetAuditEntries: number;
  /** Whether the source's audit log records the copy (false: the source could not be written). */
  sourceAudited: boolean;
  sourceAuditError?: string;
}

/** Copy and verify (see the file comment). */
export async function copyVault(req: CopyRequest): Promise<CopyResult> {
  const from = resolveVaultLocation(req.env);
  const to = targetLocation(req.to);
  if (!copyable(from, "source") || !copyable(to, "target")) throw new Error("unreachable");
  return copyBetween(from, to, req);
}

/** The table entry of a location (each entry only ever sees locations of its own backend). */
const backendOf = (l: LocationOf<Backend>) => COPY_BACKENDS[l.backend] as unknown as CopyBackend<Backend>;

async function copyBetween(
  from: LocationOf<Backend>,
  to: LocationOf<Backend>,
  req: CopyRequest,
): Promise<CopyResult> {
  const sourceBackend = backendOf(from);
  const targetBackend = backendOf(to);
  const { target } = await targetBackend.load();
  const targetName = target.describe(to);
  const sourceKey = sourceBackend.placeKey(from);
  checkNotSelf(sourceKey, targetBackend.placeKey(to), targetName);
  const { source } = await sourceBackend.load();
  const src = await source.open(from, req.unlock, req.env);
  try {
    const chain = await src.store.verifyAudit();
    if (!chain.ok) {
      throw new RekeyError(
        "integrity",
        `the audit log of ${src.description} does not verify (entry ${chain.problem?.seq}: ${chain.problem?.reason}); not copying it`,
        { hint: "run rekey audit verify on the source and restore it from a backup first" },
      );
    }
    const rows = await src.exportRows();
    checkSourceLeases(rows.leases, src.description);
    const counts = countRows(rows);
    const event = (role: "source" | "target"): AuditEvent => ({
      action: "vault.copy",
      recordUid: null,
      actor: req.actor,
      details: { role, from: src.description, to: targetName, ...counts },
    });
    let targetAuditEntries = 0;
    await target.write(to, rows, {
      force: req.force,
      unlock: req.unlock,
      event: event("target"),
      verify: async (view) => {
        const v = await verifyCopy({ store: src.store, rows, description: src.description }, view);
        targetAuditEntries = v.auditEntries;
      },
    });
    let sourceAuditError: string | undefined;
    try {
      await src.store.appendAudit(event("source"));
    } catch (err) {
      sourceAuditError = err instanceof Error ? err.message : String(err);
    }
    return {
      source: src.description,
      target: targetName,
      counts,
      targetAuditEntries,
      sourceAudited: sourceAuditError === undefined,
      ...(sourceAuditError === undefined ? {} : { sourceAuditError }),
    };
  } finally {
    await src.close();
  }
}
