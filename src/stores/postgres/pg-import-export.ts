/**
 * `rekey vault copy` from a PostgreSQL vault: every row as stored (ciphertext, see stores/copy-rows.ts), read
 * in the caller's read transaction (REPEATABLE READ: one consistent snapshot).
 */
import { holderMayBeAlive } from "../../vault/lease-owner.js";
import { type HeldLease, sortVersions, type VaultRows } from "../copy-rows.js";
import { metaValue, type Queryable } from "./pg-db.js";
import { META, notAVault } from "./pg-schema.js";

type Raw = Record<string, unknown>;

const str = (v: unknown) => v as string;
const num = (v: unknown) => v as number;
const buf = (v: unknown) => v as Buffer;
const strOrNull = (v: unknown) => (v === null ? null : (v as string));

async function all(q: Queryable, sql: string): Promise<Raw[]> {
  return (await q.query<Raw>(sql)).rows;
}

/** Leases held now (on the database's clock) by holders that may be alive. */
export async function heldPgLeases(q: Queryable): Promise<HeldLease[]> {
  return (await all(q, "SELECT record_uid, owner, expires_at FROM locks WHERE expires_at > now()"))
    .filter((l) => holderMayBeAlive(str(l.owner)))
    .map((l) => ({
      recordUid: str(l.record_uid),
      owner: str(l.owner),
      expiresAt: (l.expires_at as Date).toISOString(),
    }));
}

/** The vault's rows (call inside a read transaction). */
export async function readPgRows(q: Queryable, where: string): Promise<VaultRows> {
  const meta = async (key: string) => {
    const value = await metaValue(q, key);
    if (value === undefined) throw notAVault(where, `its meta entry ${key} is missing`);
    return value;
  };
  return {
    meta: {
      vaultId: await meta(META.vaultId),
      createdAt: await meta(META.createdAt),
      keySlots: await meta(META.keySlots),
      auditHead: await meta(META.auditHead),
    },
    folders: (
      await all(q, "SELECT uid, parent_uid, shared, created_at, name_ct FROM folders ORDER BY pos")
    ).map((f) => ({
      uid: str(f.uid),
      parentUid: strOrNull(f.parent_uid),
      shared: f.shared === true,
      createdAt: str(f.created_at),
      nameCt: buf(f.name_ct),
    })),
    records: (
      await all(q, "SELECT uid, revision, title_mac, created_at, row_mac FROM records ORDER BY pos")
    ).map((r) => ({
      uid: str(r.uid),
      revision: num(r.revision),
      titleMac: buf(r.title_mac),
      createdAt: str(r.created_at),
      rowMac: buf(r.row_mac),
    })),
    versions: sortVersions(
      (
        await all(
          q,
          "SELECT uid, revision, folder_uid, saved_at, actor, deleted, dek, body FROM record_versions",
        )
      ).map((v) => ({
        uid: str(v.uid),
        revision: num(v.revision),
        folderUid: strOrNull(v.folder_uid),
        savedAt: str(v.saved_at),
        actor: str(v.actor),
        deleted: v.deleted === true,
        dek: buf(v.dek),
        body: buf(v.body),
      })),
    ),
    audit: (
      await all(q, "SELECT seq, at, action, record_uid, actor, details, hash FROM audit ORDER BY seq")
    ).map((a) => ({
      seq: num(a.seq),
      at: str(a.at),
      action: str(a.action),
      recordUid: strOrNull(a.record_uid),
      actor: str(a.actor),
      details: str(a.details),
      hash: str(a.hash),
    })),
    journal: (
      await all(q, "SELECT id, record_uid, kind, created_at, updated_at, dek, body FROM journal ORDER BY pos")
    ).map((j) => ({
      id: str(j.id),
      recordUid: str(j.record_uid),
      kind: str(j.kind),
      createdAt: str(j.created_at),
      updatedAt: str(j.updated_at),
      dek: buf(j.dek),
      body: buf(j.body),
    })),
    history: (
      await all(
        q,
        "SELECT seq, id, record_uid, started_at, saved_at, dek, body FROM rotation_history ORDER BY seq",
      )
    ).map((h) => ({
      seq: num(h.seq),
      id: str(h.id),
      recordUid: str(h.record_uid),
      startedAt: str(h.started_at),
      savedAt: str(h.saved_at),
      dek: buf(h.dek),
      body: buf(h.body),
    })),
    leases: await heldPgLeases(q),
  };
}
