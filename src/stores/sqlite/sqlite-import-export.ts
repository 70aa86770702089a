/**
 * `rekey vault copy` from a local vault: every row as stored (ciphertext, see stores/copy-rows.ts), read in
 * the caller's read transaction so the rows are one consistent snapshot.
 */
import { holderMayBeAlive } from "../../vault/lease-owner.js";
import { type HeldLease, sortVersions, type VaultRows } from "../copy-rows.js";
import type { SqlDb } from "./sqlite-db.js";
import { META, notAVault } from "./sqlite-schema.js";

interface Raw {
  [column: string]: unknown;
}

const str = (v: unknown) => v as string;
const num = (v: unknown) => v as number;
const buf = (v: unknown) => v as Buffer;
const strOrNull = (v: unknown) => (v === null ? null : (v as string));

/** The vault's rows (call inside `sql.read`). Leases are those held now by holders that may be alive. */
export function readSqliteRows(sql: SqlDb): VaultRows {
  const meta = (key: string) => {
    const value = sql.meta(key);
    if (value === undefined) throw notAVault(sql.path, `its meta entry ${key} is missing`);
    return value;
  };
  const hasHistory = Boolean(
    sql.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rotation_history'"),
  );
  const now = Date.now();
  const leases: HeldLease[] = sql
    .all<Raw>("SELECT record_uid, owner, expires_at FROM locks")
    .filter((l) => num(l.expires_at) > now && holderMayBeAlive(str(l.owner)))
    .map((l) => ({
      recordUid: str(l.record_uid),
      owner: str(l.owner),
      expiresAt: new Date(num(l.expires_at)).toISOString(),
    }));
  return {
    meta: {
      vaultId: meta(META.vaultId),
      createdAt: meta(META.createdAt),
      keySlots: meta(META.keySlots),
      auditHead: meta(META.auditHead),
    },
    folders: sql.all<Raw>("SELECT * FROM folders ORDER BY rowid").map((f) => ({
      uid: str(f.uid),
      parentUid: strOrNull(f.parent_uid),
      shared: f.shared === 1,
      createdAt: str(f.created_at),
      nameCt: buf(f.name_ct),
    })),
    records: sql.all<Raw>("SELECT * FROM records ORDER BY rowid").map((r) => ({
      uid: str(r.uid),
      revision: num(r.revision),
      titleMac: buf(r.title_mac),
      createdAt: str(r.created_at),
      rowMac: buf(r.row_mac),
    })),
    versions: sortVersions(
      sql.all<Raw>("SELECT * FROM record_versions").map((v) => ({
        uid: str(v.uid),
        revision: num(v.revision),
        folderUid: strOrNull(v.folder_uid),
        savedAt: str(v.saved_at),
        actor: str(v.actor),
        deleted: v.deleted === 1,
        dek: buf(v.dek),
        body: buf(v.body),
      })),
    ),
    audit: sql.all<Raw>("SELECT * FROM audit ORDER BY seq").map((a) => ({
      seq: num(a.seq),
      at: str(a.at),
      action: str(a.action),
      recordUid: strOrNull(a.record_uid),
      actor: str(a.actor),
      details: str(a.details),
      hash: str(a.hash),
    })),
    journal: sql.all<Raw>("SELECT * FROM journal ORDER BY rowid").map((j) => ({
      id: str(j.id),
      recordUid: str(j.record_uid),
      kind: str(j.kind),
      createdAt: str(j.created_at),
      updatedAt: str(j.updated_at),
      dek: buf(j.dek),
      body: buf(j.body),
    })),
    history: hasHistory
      ? sql.all<Raw>("SELECT * FROM rotation_history ORDER BY seq").map((h) => ({
          seq: num(h.seq),
          id: str(h.id),
          recordUid: str(h.record_uid),
          startedAt: str(h.started_at),
          savedAt: str(h.saved_at),
          dek: buf(h.dek),
          body: buf(h.body),
        }))
      : [],
    leases,
  };
}
