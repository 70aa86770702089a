/**
 * Every encrypted or MACed thing in the vault, in one place, with what its AAD binds it to. Like a list of
 * sensitive paths: if it is not sealed here, it is stored in clear (see sqlite-schema.ts).
 *
 * All keys are derived from the vault master key (VMK) with HKDF, one per purpose:
 * - kek:    wraps the random data key of each record version and journal entry
 * - title:  HMAC of titles for the exact-title index (a lookup without a readable title)
 * - folder: seals folder names
 * - row:    MACs the `records` pointer rows (uid → current revision), so they cannot be rolled back by hand
 * - audit:  the audit log's hash chain
 * - listing: seals the listing cache's chunks (vault/listing-cache.ts), a file outside the vault
 */
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { aad, deriveKey, hmac, open, randomKey, seal, unwrapKey, wrapKey, zeroize } from "./crypto.js";
import type { KeeperRecord } from "./record.js";

/** The clear columns of a record version; all of them are bound into its ciphertext. */
export interface VersionMeta {
  uid: string;
  revision: number;
  folderUid: string | null;
  savedAt: string;
  actor: string;
  deleted: boolean;
}

export interface FolderMeta {
  uid: string;
  parentUid: string | null;
  shared: boolean;
  createdAt: string;
}

export interface JournalMeta {
  id: string;
  recordUid: string;
  kind: string;
  createdAt: string;
  updatedAt: string;
}

/** A data key wrapped under the KEK, and the content sealed under that data key. */
export interface Sealed {
  dek: Buffer;
  body: Buffer;
}

/** JSON bytes of `value`, refusing Secret objects (they serialize as "[REDACTED]": the value would be lost). */
export function toJsonBytes(value: unknown, what: string): Buffer {
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    if (this[key] instanceof Secret) {
      throw new RekeyError("internal", `${what} holds a Secret object at "${key}": store its revealed value`);
    }
    return v;
  });
  return Buffer.from(text, "utf8");
}

export class VaultCipher {
  readonly vmk: Buffer;
  readonly auditKey: Buffer;
  readonly #kek: Buffer;
  readonly #title: Buffer;
  readonly #folder: Buffer;
  readonly #row: Buffer;
  readonly #listing: Buffer;

  /** Takes ownership of `vmk`: `destroy()` zeroizes it. */
  constructor(vmk: Buffer) {
    this.vmk = vmk;
    this.#kek = deriveKey(vmk, "rekey.dek-wrap.v1");
    this.#title = deriveKey(vmk, "rekey.title-index.v1");
    this.#folder = deriveKey(vmk, "rekey.folder-name.v1");
    this.#row = deriveKey(vmk, "rekey.row-mac.v1");
    this.#listing = deriveKey(vmk, "rekey.listing-cache.v1");
    this.auditKey = deriveKey(vmk, "rekey.audit.v1");
  }

  titleMac(title: string): Buffer {
    return hmac(this.#title, "rekey.title.v1", title);
  }

  /**
   * The schedule index's identity digest (gateway/schedule-index.ts): under the title-index key, in its
   * own domain, so a digest never equals a title's MAC. Shortened: a collision only costs a decryption.
   */
  indexDigest(value: string): string {
    return hmac(this.#title, "rekey.schedule-index.v1", value).subarray(0, 16).toString("base64url");
  }

  rowMac(uid: string, revision: number, titleMac: Buffer, createdAt: string): Buffer {
    return hmac(this.#row, aad("rekey.records.v1", uid, revision, titleMac.toString("hex"), createdAt));
  }

  sealRecord(m: VersionMeta, record: KeeperRecord): Sealed {
    return this.#sealWithDek(
      toJsonBytes(record, `record ${m.uid}`),
      versionAad(m),
      aad("rekey.dek.v1", "record", m.uid, m.revision),
    );
  }

  openRecord(m: VersionMeta, s: Sealed): KeeperRecord {
    const what = `record ${m.uid} revision ${m.revision}`;
    return this.#openWithDek(
      s,
      versionAad(m),
      aad("rekey.dek.v1", "record", m.uid, m.revision),
      what,
    ) as KeeperRecord;
  }

  sealJournal(m: JournalMeta, stateJson: Buffer): Sealed {
    return this.#sealWithDek(stateJson, journalAad(m), aad("rekey.dek.v1", "journal", m.id, m.updatedAt));
  }

  openJournal(m: JournalMeta, s: Sealed): Record<string, unknown> {
    const dekAad = aad("rekey.dek.v1", "journal", m.id, m.updatedAt);
    return this.#openWithDek(s, journalAad(m), dekAad, `journal entry ${m.id}`) as Record<string, unknown>;
  }

  sealFolderName(m: FolderMeta, name: string): Buffer {
    return seal(this.#folder, Buffer.from(name, "utf8"), folderAad(m));
  }

  openFolderName(m: FolderMeta, ct: Buffer): string {
    return open(this.#folder, ct, folderAad(m), `folder ${m.uid}`).toString("utf8");
  }

  /** A chunk of the listing cache (secret-free record summaries), bound to `chunkAad` (file and position). */
  sealListing(plain: Buffer, chunkAad: string): Buffer {
    return seal(this.#listing, plain, aad("rekey.listing.v1", chunkAad));
  }

  openListing(sealed: Buffer, chunkAad: string): Buffer {
    return open(this.#listing, sealed, aad("rekey.listing.v1", chunkAad), "a listing cache chunk");
  }

  destroy(): void {
    zeroize(this.vmk, this.auditKey, this.#kek, this.#title, this.#folder, this.#row, this.#listing);
  }

  #sealWithDek(plain: Buffer, bodyAad: string, dekAad: string): Sealed {
    const dek = randomKey();
    try {
      return { body: seal(dek, plain, bodyAad), dek: wrapKey(this.#kek, dek, dekAad) };
    } finally {
      zeroize(dek, plain);
    }
  }

  #openWithDek(s: Sealed, bodyAad: string, dekAad: string, what: string): unknown {
    const dek = unwrapKey(this.#kek, s.dek, dekAad, what);
    try {
      const plain = open(dek, s.body, bodyAad, what);
      try {
        return JSON.parse(plain.toString("utf8"));
      } finally {
        zeroize(plain);
      }
    } finally {
      zeroize(dek);
    }
  }
}

function versionAad(m: VersionMeta): string {
  return aad("rekey.record.v1", m.uid, m.revision, m.folderUid, m.deleted, m.savedAt, m.actor);
}

function journalAad(m: JournalMeta): string {
  return aad("rekey.journal.v1", m.id, m.recordUid, m.kind, m.createdAt, m.updatedAt);
}

function folderAad(m: FolderMeta): string {
  return aad("rekey.folder.v1", m.uid, m.parentUid, m.shared, m.createdAt);
}
