/**
 * The fake server's endpoints: what each one checks, changes and answers, encrypted the way the SDK decrypts
 * (keeper.ts `fetchAndDecryptSecrets`, `fetchAndDecryptFolders`, `prepare*Payload`):
 *
 * - get_secret: `encryptedAppKey` (GCM under the client key) and `appOwnerPublicKey` only when binding;
 *   records shared directly carry `recordKey` GCM under the app key; shared folders carry `folderKey` GCM
 *   under the app key and their records' keys GCM under the folder key; every `data` is GCM under its
 *   record key; `appData` is GCM under the app key. A record's `files` each carry `fileKey` GCM under the
 *   record key, `data` (name, title, size, type, lastModified) GCM under the file key, and a download `url`
 *   whose bytes are the content GCM under the file key (https-server.ts serves them).
 * - get_folders: shared folder keys GCM under the app key, sub-folder keys CBC under their shared folder's
 *   key, folder `data` ({"name"}) CBC under the folder's own key.
 * - update_secret: the revision must be the current one; with `transactionType` the update opens a
 *   transaction that finalize_secret_update keeps and rollback_secret_update undoes.
 * - create_secret: the record key comes twice (ECIES to the app owner, GCM under the folder key); both must
 *   agree. create_folder: the folder key is CBC under the shared folder key.
 */
import { type EndpointContext, type EndpointResult, keeperError } from "./protocol.js";
import type { FakeFile, FakeFolder, FakeRecord, RecordData } from "./state.js";
import {
  b64url,
  cbcDecrypt,
  cbcEncrypt,
  eciesDecrypt,
  fromB64,
  gcmDecrypt,
  gcmEncrypt,
} from "./wire-crypto.js";

type Handler = (ctx: EndpointContext, payload: Record<string, unknown>) => EndpointResult;

const UID_RE = /^[A-Za-z0-9_-]{22}$/;

function str(ctx: EndpointContext, payload: Record<string, unknown>, key: string, optional = false): string {
  const v = payload[key];
  if (typeof v === "string" && v.length > 0) return v;
  if (optional && v === undefined) return "";
  throw keeperError(ctx.fake, ctx.endpoint, 400, "bad_request", `missing or invalid "${key}"`);
}

function strList(ctx: EndpointContext, payload: Record<string, unknown>, key: string): string[] | undefined {
  const v = payload[key];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw keeperError(ctx.fake, ctx.endpoint, 400, "bad_request", `"${key}" must be a list of UIDs`);
}

function denied(ctx: EndpointContext, message: string) {
  return keeperError(ctx.fake, ctx.endpoint, 403, "access_denied", message);
}

/** A record the app can see, or the same access_denied whether it is missing or not shared. */
function visibleRecord(ctx: EndpointContext, uid: string): FakeRecord {
  const r = ctx.fake.records.get(uid);
  if (!r) throw denied(ctx, `record ${uid} is not shared with this application`);
  return r;
}

function editableRecord(ctx: EndpointContext, uid: string): FakeRecord {
  const r = visibleRecord(ctx, uid);
  if (!r.editable) throw denied(ctx, `record ${uid} is read-only for this application`);
  return r;
}

function decryptJson(ctx: EndpointContext, key: Buffer, data: string, what: string): RecordData {
  try {
    const v = JSON.parse(gcmDecrypt(key, fromB64(data)).toString("utf8"));
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as RecordData;
  } catch {
    // fall through
  }
  throw keeperError(ctx.fake, ctx.endpoint, 400, "bad_request", `unable to decrypt ${what}`);
}

/** What get_secret shows of a record (the pre-transaction version if the knob says so). */
function shown(ctx: EndpointContext, r: FakeRecord): { data: RecordData; revision: number } {
  const p = ctx.fake.pending.get(r.uid);
  return p && ctx.fake.knobs.pendingView === "old" ? p.before : { data: r.data, revision: r.revision };
}

/**
 * A file attachment as get_secret lists it (what the SDK's decryptRecord reads): `fileKey` GCM under the
 * record key, `data` (the metadata JSON) GCM under the file key, and the `url` the encrypted content is
 * fetched from; no thumbnail (Keeper makes those for images only).
 */
function wireFile(ctx: EndpointContext, r: FakeRecord, f: FakeFile): Record<string, unknown> {
  return {
    fileUid: f.uid,
    fileKey: b64url(gcmEncrypt(r.key, f.key)),
    data: b64url(gcmEncrypt(f.key, Buffer.from(JSON.stringify(f.meta)))),
    url: ctx.fake.fileUrl(f),
    thumbnailUrl: null,
  };
}

function wireRecord(ctx: EndpointContext, r: FakeRecord, wrappingKey: Buffer): Record<string, unknown> {
  const view = shown(ctx, r);
  return {
    recordUid: r.uid,
    recordKey: b64url(gcmEncrypt(wrappingKey, r.key)),
    data: b64url(gcmEncrypt(r.key, Buffer.from(JSON.stringify(view.data)))),
    revision: view.revision,
    isEditable: r.editable,
    files: r.files.map((f) => wireFile(ctx, r, f)),
    ...(r.innerFolderUid ? { innerFolderUid: r.innerFolderUid } : {}),
  };
}

const getSecret: Handler = (ctx, payload) => {
  const { fake } = ctx;
  const wantRecords = strList(ctx, payload, "requestedRecords");
  const wantFolders = strList(ctx, payload, "requestedFolders");
  const filtered = wantRecords !== undefined || wantFolders !== undefined;
  const wanted = (r: FakeRecord) =>
    (wantRecords === undefined || wantRecords.includes(r.uid)) &&
    (wantFolders === undefined ||
      (r.folderUid !== null && wantFolders.includes(r.folderUid)) ||
      (r.innerFolderUid !== null && wantFolders.includes(r.innerFolderUid)));
  const appKey = fake.app.appKey;
  const records: Record<string, unknown>[] = [];
  const folders: Record<string, unknown>[] = [];
  for (const r of fake.records.values()) {
    if (r.folderUid === null && wanted(r)) records.push(wireRecord(ctx, r, appKey));
  }
  for (const f of fake.folders.values()) {
    if (f.parentUid !== null) continue;
    const inFolder = [...fake.records.values()].filter((r) => r.folderUid === f.uid && wanted(r));
    if (filtered && inFolder.length === 0) continue;
    folders.push({
      folderUid: f.uid,
      folderKey: b64url(gcmEncrypt(appKey, f.key)),
      records: inFolder.map((r) => wireRecord(ctx, r, f.key)),
    });
  }
  const appData = { title: fake.app.title, type: "general" };
  return {
    appData: b64url(gcmEncrypt(appKey, Buffer.from(JSON.stringify(appData)))),
    ...(ctx.justBound && ctx.client.clientKey
      ? {
          encryptedAppKey: b64url(gcmEncrypt(ctx.client.clientKey, appKey)),
          appOwnerPublicKey: b64url(fake.app.owner.publicRaw),
        }
      : {}),
    records,
    folders,
    expiresOn: 0,
    warnings: [],
  };
};

const getFolders: Handler = (ctx) => {
  const { fake } = ctx;
  const folders = [...fake.folders.values()].map((f) => {
    const root = fake.folders.get(f.sharedFolderUid) as FakeFolder;
    const folderKey = f.parentUid === null ? gcmEncrypt(fake.app.appKey, f.key) : cbcEncrypt(root.key, f.key);
    return {
      folderUid: f.uid,
      folderKey: b64url(folderKey),
      data: b64url(cbcEncrypt(f.key, Buffer.from(JSON.stringify({ name: f.name })))),
      ...(f.parentUid !== null ? { parent: f.parentUid } : {}),
      records: [],
    };
  });
  return { folders };
};

function revisionError(ctx: EndpointContext, r: FakeRecord, sent: number) {
  const style = ctx.fake.knobs.revisionError;
  const message =
    style === "out_of_sync"
      ? `Record ${r.uid} is out of sync`
      : `Record ${r.uid} is out of date: revision ${sent} was sent, the current revision is ${r.revision}`;
  return keeperError(ctx.fake, ctx.endpoint, 400, style, message, { result_code: style });
}

const updateSecret: Handler = (ctx, payload) => {
  const uid = str(ctx, payload, "recordUid");
  const r = editableRecord(ctx, uid);
  const revision = payload.revision;
  if (typeof revision !== "number") {
    throw keeperError(ctx.fake, ctx.endpoint, 400, "bad_request", 'missing or invalid "revision"');
  }
  if (ctx.fake.pending.has(uid) && ctx.fake.knobs.rejectUpdateWhilePending) {
    throw keeperError(
      ctx.fake,
      ctx.endpoint,
      400,
      "transaction_in_progress",
      `record ${uid} has a pending ${ctx.fake.pending.get(uid)?.type} transaction: finalize or roll it back first`,
    );
  }
  if (revision !== r.revision) throw revisionError(ctx, r, revision);
  const data = decryptJson(ctx, r.key, str(ctx, payload, "data"), `the data of record ${uid}`);
  const transactionType = str(ctx, payload, "transactionType", true);
  const before = { revision: r.revision, data: structuredClone(r.data) };
  ctx.fake.writeRecord(r, data);
  if (transactionType) ctx.fake.pending.set(uid, { type: transactionType, before });
  return undefined;
};

function completeTransaction(rollback: boolean): Handler {
  return (ctx, payload) => {
    const uid = str(ctx, payload, "recordUid");
    const r = editableRecord(ctx, uid);
    const p = ctx.fake.pending.get(uid);
    if (!p) {
      throw keeperError(ctx.fake, ctx.endpoint, 400, "not_found", `record ${uid} has no pending transaction`);
    }
    ctx.fake.pending.delete(uid);
    // A rollback is a new version holding the old content (history keeps the rolled-back one).
    if (rollback) ctx.fake.writeRecord(r, p.before.data);
    return undefined;
  };
}

const createSecret: Handler = (ctx, payload) => {
  const { fake } = ctx;
  const uid = str(ctx, payload, "recordUid");
  if (!UID_RE.test(uid) || fake.records.has(uid)) {
    throw keeperError(fake, ctx.endpoint, 400, "bad_request", `invalid or existing record UID ${uid}`);
  }
  const folder = fake.folders.get(str(ctx, payload, "folderUid"));
  if (!folder || folder.parentUid !== null)
    throw denied(ctx, "the folder is not a shared folder of this application");
  if (!folder.editable) throw denied(ctx, `shared folder ${folder.uid} is read-only for this application`);
  const subFolderUid = str(ctx, payload, "subFolderUid", true);
  if (subFolderUid && fake.folders.get(subFolderUid)?.sharedFolderUid !== folder.uid) {
    throw keeperError(
      fake,
      ctx.endpoint,
      400,
      "bad_request",
      `sub-folder ${subFolderUid} is not in ${folder.uid}`,
    );
  }
  let recordKey: Buffer;
  try {
    recordKey = gcmDecrypt(folder.key, fromB64(str(ctx, payload, "folderKey")));
    const forOwner = eciesDecrypt(fake.app.owner.privateRaw, fromB64(str(ctx, payload, "recordKey")));
    if (!forOwner.equals(recordKey)) throw new Error("record keys differ");
  } catch {
    throw keeperError(fake, ctx.endpoint, 400, "bad_request", "unable to decrypt the record key");
  }
  const data = decryptJson(ctx, recordKey, str(ctx, payload, "data"), `the data of record ${uid}`);
  const created = fake.addRecord(data, { uid, folderUid: subFolderUid || folder.uid });
  created.key = recordKey;
  return undefined;
};

const createFolder: Handler = (ctx, payload) => {
  const { fake } = ctx;
  const uid = str(ctx, payload, "folderUid");
  const shared = fake.folders.get(str(ctx, payload, "sharedFolderUid"));
  if (!shared || shared.parentUid !== null)
    throw denied(ctx, "the folder is not a shared folder of this application");
  if (!shared.editable) throw denied(ctx, `shared folder ${shared.uid} is read-only for this application`);
  if (!UID_RE.test(uid) || fake.folders.has(uid)) {
    throw keeperError(fake, ctx.endpoint, 400, "bad_request", `invalid or existing folder UID ${uid}`);
  }
  const parentUid = str(ctx, payload, "parentUid", true) || shared.uid;
  if (fake.folders.get(parentUid)?.sharedFolderUid !== shared.uid) {
    throw keeperError(fake, ctx.endpoint, 400, "bad_request", `parent ${parentUid} is not in ${shared.uid}`);
  }
  let key: Buffer;
  let name: unknown;
  try {
    key = cbcDecrypt(shared.key, fromB64(str(ctx, payload, "sharedFolderKey")));
    name = JSON.parse(cbcDecrypt(key, fromB64(str(ctx, payload, "data"))).toString("utf8")).name;
  } catch {
    throw keeperError(fake, ctx.endpoint, 400, "bad_request", "unable to decrypt the folder");
  }
  const folder = fake.addSubFolder(parentUid, String(name), { uid });
  folder.key = key;
  return undefined;
};

const deleteSecret: Handler = (ctx, payload) => {
  const uids = strList(ctx, payload, "recordUids") ?? [];
  const records = uids.map((recordUid) => {
    const r = ctx.fake.records.get(recordUid);
    if (!r) return { recordUid, responseCode: "not_found", errorMessage: "record not found" };
    if (!r.editable) return { recordUid, responseCode: "access_denied", errorMessage: "record is read-only" };
    ctx.fake.removeRecord(recordUid);
    return { recordUid, responseCode: "ok", errorMessage: "" };
  });
  return { records, folders: [] };
};

export const ENDPOINTS: Record<string, Handler> = {
  get_secret: getSecret,
  get_folders: getFolders,
  update_secret: updateSecret,
  finalize_secret_update: completeTransaction(false),
  rollback_secret_update: completeTransaction(true),
  create_secret: createSecret,
  create_folder: createFolder,
  delete_secret: deleteSecret,
};
