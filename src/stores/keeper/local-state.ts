/**
 * What Keeper Secrets Manager has no place for: the rotation journal, per-record leases, rekey's audit log and
 * the gateway's rotation history.
 * They live in a local directory beside the KSM config's owner (default `$REKEY_HOME/keeper/<app id>/`, else
 * a private one elsewhere: state-dir.ts),
 * in plain files, because the Gateway's script is a single-file bundle and cannot carry a native SQLite addon.
 *
 * Why local and not in the Keeper record: the journal must exist *before* anything is saved to Keeper (the
 * intent lists the keys the user had, so an orphan from a crashed CreateAccessKey is recognisable), it is
 * rewritten after every AWS step, and a lease taken by writing the record would add two revisions per
 * rotation to the record's history for a lock the Gateway already gives (it runs one rotation per record at
 * a time). The Keeper record stays the commit point: the new key is saved there (revision-checked) before
 * any old key is deleted, so the local journal only has to bridge "created in IAM" → "saved in Keeper".
 *
 * Layout (directory mode 0700, files 0600, every write atomic: temp file, rename; fsyncs as each needs them,
 * see local-files.ts's Durability):
 * - journal/<sha256(id)>.json + journal.head  {v, id, recordUid, kind, createdAt, updatedAt, n, state: sealed}
 *   and a signed index of the live entries' counters (local-journal.ts). The state may hold the new secret
 *   key: it is AES-256-GCM sealed with a key derived from the KSM config's private key (the config itself can
 *   decrypt the whole vault, so this adds no new secret to protect), bound by AAD to every other field.
 * - locks/<sha256(uid)>.json   {owner, expiresAt}; check-and-take runs under a mkdir guard, so it is atomic
 *   across processes on this host. Not across hosts: two machines rotating one record are stopped only at
 *   Keeper's revision check. Never fsynced: a lock excludes live processes of this host, and a crash of the
 *   host leaves none, so a lock file a crash lost, emptied or tore is read as free (readLock). A lock whose holder is a dead process of this host is taken over at once (a
 *   script the Gateway killed does not block the next run until its lease expires).
 * - audit.jsonl + audit.head   hash-chained like the local vault's log (audit-chain.ts), HMAC key derived
 *   from the same secret; never holds secret values. A new directory gets a signed genesis head, so a
 *   deleted log and head is tampering, not an empty log.
 * - history/<seq>-<sha256(id)>.json   the gateway's rotation history, sealed like the journal (local-history.ts).
 */

import { createHash } from "node:crypto";
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { conflict, integrityError, usageError } from "../../errors.js";
import { rekeyHome } from "../../home.js";
import {
  type AuditRow,
  canonicalJson,
  checkAuditDetails,
  entryHash,
  genesisHash,
  headIsValid,
  parseHead,
  signHead,
  verifyChain,
} from "../../vault/audit-chain.js";
import { deriveKey } from "../../vault/crypto.js";
import { holderMayBeAlive } from "../../vault/lease-owner.js";
import type {
  AuditEntry,
  AuditEvent,
  AuditVerification,
  JournalEntry,
  Lease,
  RotationHistoryEntry,
} from "../../vault/store.js";
import type { KsmConfigJson } from "./ksm-config.js";
import { readJsonText, sha, withGuard, writeFileAtomic } from "./local-files.js";
import { KeeperLocalHistory } from "./local-history.js";
import { KeeperLocalJournal } from "./local-journal.js";

/** The sealing key of the local state, derived from the KSM config (private key, bound to the client id). */
export function keeperStateKey(config: Pick<KsmConfigJson, "privateKey" | "clientId">): Buffer {
  return deriveKey(Buffer.from(config.privateKey, "base64"), "rekey.keeper.state.v1", config.clientId);
}

/** A short, stable, non-secret id of the KSM client (directory name, audit genesis). */
export function keeperStateId(config: Pick<KsmConfigJson, "clientId">): string {
  return createHash("sha256").update(config.clientId).digest("hex").slice(0, 16);
}

/**
 * `$REKEY_KEEPER_STATE` if set, else `$REKEY_HOME/keeper/<id>` (REKEY_HOME defaults to ~/.rekey). No I/O: when
 * that cannot be created, state-dir.ts picks another.
 */
export function defaultKeeperStateDir(config: Pick<KsmConfigJson, "clientId">, env = process.env): string {
  if (env.REKEY_KEEPER_STATE) return resolve(env.REKEY_KEEPER_STATE);
  return join(rekeyHome(env), "keeper", keeperStateId(config));
}

/** The same rule as the local vault's leases: dead only when certain (vault/lease-owner.ts). */
export { holderMayBeAlive } from "../../vault/lease-owner.js";

interface LockFile {
  owner: string;
  expiresAt: number;
}

/**
 * The lock file's holder, or undefined when there is none. Lock files are written without fsync: one that does
 * not parse was torn or emptied by a crash of the host, which left no process holding it, so it is free.
 */
function readLock(path: string): LockFile | undefined {
  const text = readJsonText(path);
  if (text === undefined) return undefined;
  try {
    const held = JSON.parse(text) as Partial<LockFile> | null;
    if (typeof held?.owner === "string" && typeof held.expiresAt === "number") {
      return { owner: held.owner, expiresAt: held.expiresAt };
    }
  } catch {
    // torn by a crash: free
  }
  return undefined;
}

export interface KeeperLocalStateOptions {
  dir: string;
  /** 32-byte key (keeperStateKey). */
  key: Buffer;
  /** Non-secret id of this state (keeperStateId): the audit chain's genesis. */
  id: string;
}

export class KeeperLocalState {
  readonly dir: string;
  readonly #journal: KeeperLocalJournal;
  readonly #auditKey: Buffer;
  readonly #id: string;
  readonly #history: KeeperLocalHistory;

  private constructor(opts: KeeperLocalStateOptions) {
    this.dir = opts.dir;
    this.#journal = new KeeperLocalJournal(opts.dir, opts.key, opts.id);
    this.#auditKey = deriveKey(opts.key, "rekey.keeper.audit.v1");
    this.#id = opts.id;
    this.#history = new KeeperLocalHistory(join(opts.dir, "history"), opts.key, opts.id);
  }

  /**
   * Open (creating it, mode 0700) the state directory. A new (or empty) directory gets a signed genesis head
   * for its audit log and an empty journal index, so that deleting them later is tampering, not a fresh start.
   */
  static open(opts: KeeperLocalStateOptions): KeeperLocalState {
    if (opts.key.length !== 32) throw new RangeError("the local state key must be 32 bytes");
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const fresh = readdirSync(opts.dir).length === 0;
    for (const d of [
      opts.dir,
      join(opts.dir, "journal"),
      join(opts.dir, "locks"),
      join(opts.dir, "history"),
    ]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
    }
    const state = new KeeperLocalState(opts);
    if (fresh) state.#writeGenesis();
    state.#journal.init();
    return state;
  }

  #writeGenesis(): void {
    withGuard(join(this.dir, "audit.guard"), () => {
      if (readJsonText(this.#headFile) !== undefined) return;
      const genesis = signHead(this.#auditKey, 0, genesisHash(this.#auditKey, this.#id));
      writeFileAtomic(this.#headFile, JSON.stringify(genesis));
    });
  }

  // ---- journal (local-journal.ts) ------------------------------------------------------------------

  putJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): JournalEntry {
    const { id, recordUid, kind, state } = entry;
    if (!id || !recordUid || !kind)
      throw usageError("a journal entry needs an id, a recordUid and a kind", "set all three");
    if (typeof state !== "object" || state === null || Array.isArray(state)) {
      throw usageError(`journal entry ${id}: state must be a JSON object`, "pass an object");
    }
    return this.#journal.put(entry);
  }

  listJournal(filter: { recordUid?: string; kind?: string } = {}): JournalEntry[] {
    return this.#journal.list(filter);
  }

  /** Remove a journal entry; removing one that is already gone is fine. */
  deleteJournal(id: string): void {
    this.#journal.delete(id);
  }

  // ---- rotation history (local-history.ts) -------------------------------------------------------------

  /** Append a gateway attempt and its audit copy (`audit`, secret-free): both or neither. */
  appendRotationHistory(entry: RotationHistoryEntry, audit: AuditEvent): RotationHistoryEntry {
    return this.#history.append(entry, audit, (e) => this.appendAudit(e));
  }

  /** Entries oldest first; with `limit`, the most recent `limit` of them. */
  listRotationHistory(filter?: { recordUid?: string; limit?: number }): RotationHistoryEntry[] {
    return this.#history.list(filter);
  }

  // ---- leases -------------------------------------------------------------------------------------------

  /** Take the record's lease if it is free, expired, or already ours; null if another live holder has it. */
  tryLock(recordUid: string, owner: string, ttlMs: number): Lease | null {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw usageError(
        `a lock's time to live must be a positive number of milliseconds, not ${ttlMs}`,
        "e.g. 60000",
      );
    }
    if (!owner) throw usageError("a lock needs an owner id", "use newLockOwner()");
    const path = join(this.dir, "locks", `${sha(recordUid)}.json`);
    const guard = `${path}.guard`;
    const until = withGuard(guard, () => {
      const held = readLock(path);
      if (held && held.owner !== owner && held.expiresAt > Date.now() && holderMayBeAlive(held.owner)) {
        return undefined;
      }
      const expiresAt = Date.now() + ttlMs;
      writeFileAtomic(path, JSON.stringify({ owner, expiresAt } satisfies LockFile), "none");
      return expiresAt;
    });
    if (until === undefined) return null;
    const lease: Lease = {
      recordUid,
      owner,
      expiresAt: new Date(until).toISOString(),
      renew(ttl = ttlMs) {
        const next = withGuard(guard, () => {
          const held = readLock(path);
          if (held?.owner !== owner) return undefined;
          const expiresAt = Date.now() + ttl;
          writeFileAtomic(path, JSON.stringify({ owner, expiresAt } satisfies LockFile), "none");
          return expiresAt;
        });
        if (next === undefined) {
          throw conflict(
            `the lock on record ${recordUid} was lost: it expired and another process took it (owner ${owner})`,
            "stop the work on this record; it will be retried by whoever holds the lock now",
          );
        }
        lease.expiresAt = new Date(next).toISOString();
      },
      release() {
        withGuard(guard, () => {
          if (readLock(path)?.owner === owner) unlinkSync(path);
        });
      },
    };
    return lease;
  }

  // ---- audit --------------------------------------------------------------------------------------------

  get #auditFile(): string {
    return join(this.dir, "audit.jsonl");
  }

  get #headFile(): string {
    return join(this.dir, "audit.head");
  }

  appendAudit(event: AuditEvent): AuditEntry {
    if (!event.action) throw usageError("an audit event needs an action", 'e.g. "record.update"');
    if (!event.actor) throw usageError("an audit event needs an actor", 'e.g. "rekey keeper-script"');
    const details = event.details ?? {};
    checkAuditDetails(details);
    const detailsJson = canonicalJson(details, "details");
    return withGuard(join(this.dir, "audit.guard"), () => {
      const headJson = readJsonText(this.#headFile);
      const head = headJson === undefined ? undefined : parseHead(headJson);
      if (!head || !headIsValid(this.#auditKey, head)) {
        throw integrityError(
          `the signed head of the audit log in ${this.dir} is ${headJson === undefined ? "missing (deleted)" : "modified"}`,
          "restore the directory from a backup; the Keeper record history is unaffected. A state directory an older rekey created and never wrote to has no head either: if its journal/ is empty, remove the directory",
        );
      }
      const body = {
        seq: head.count + 1,
        at: new Date().toISOString(),
        action: event.action,
        recordUid: event.recordUid ?? null,
        actor: event.actor,
        details: JSON.parse(detailsJson) as Record<string, unknown>,
      };
      const hash = entryHash(this.#auditKey, head.hash, body);
      const row: AuditRow = { ...body, details: detailsJson, hash };
      // Both durable, the row first: the signed head must never count a row a crash lost (that reads as a
      // truncated, tampered log), and the row is the record of a change already made in IAM or Keeper.
      const fd = openSync(this.#auditFile, "a", 0o600);
      try {
        appendFileSync(fd, `${JSON.stringify(row)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      writeFileAtomic(this.#headFile, JSON.stringify(signHead(this.#auditKey, body.seq, hash)));
      return { ...body, hash };
    });
  }

  #rows(): AuditRow[] {
    const text = readJsonText(this.#auditFile) ?? "";
    return text
      .split("\n")
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as AuditRow;
        } catch {
          return {
            seq: -1,
            at: "",
            action: "",
            recordUid: null,
            actor: "",
            details: `line ${i + 1}`,
            hash: "",
          };
        }
      });
  }

  listAudit(filter: { recordUid?: string; limit?: number } = {}): AuditEntry[] {
    const rows = this.#rows().filter((r) => !filter.recordUid || r.recordUid === filter.recordUid);
    const limit = filter.limit;
    const picked = limit === undefined || limit < 0 ? rows : limit === 0 ? [] : rows.slice(-limit);
    return picked.map((r) => {
      let details: Record<string, unknown>;
      try {
        details = JSON.parse(r.details) as Record<string, unknown>;
      } catch {
        details = { unparseable: r.details };
      }
      return {
        seq: r.seq,
        at: r.at,
        action: r.action,
        recordUid: r.recordUid,
        actor: r.actor,
        details,
        hash: r.hash,
      };
    });
  }

  verifyAudit(): AuditVerification {
    const headJson = readJsonText(this.#headFile);
    const rows = this.#rows();
    return verifyChain(this.#auditKey, this.#id, rows, headJson);
  }
}
