/**
 * A fake Keeper Secrets Manager backend: one KSM application (app key, owner key pair), its clients (bound or
 * waiting on a one-time token), the shared folders and records shared with it, pending rotation transactions,
 * and test knobs (throttling, injected failures, a hook before each request). The wire protocol lives in
 * protocol.ts, the endpoints in endpoints.ts; this file is the data and the seeding API.
 *
 * Revisions come from one counter for the whole fake, starting high, like the real server's (they are not
 * "1, 2, 3" per record): code that assumes `revision + 1` breaks here as it would against Keeper.
 *
 * @example
 * const fake = new FakeKeeper();
 * const sf = fake.addSharedFolder("AWS users");
 * const alice = fake.addRecord({ type: "pamUser", title: "alice", fields: [], custom: [], notes: "" }, { folderUid: sf.uid });
 * const storage = inMemoryStorage(fake.createClientConfig());
 * const { records } = await getSecrets({ storage, queryFunction: fake.queryFunction });
 */
import { randomBytes } from "node:crypto";
import type { KeeperHttpResponse, SecretManagerOptions } from "@keeper-security/secrets-manager-core";
import type { KsmConfigJson } from "../../stores/keeper/ksm-config.js";
import { handleWire, queryFunctionFor, type WireRequest } from "./protocol.js";
import { b64url, clientIdOf, gcmEncrypt, generateP256, newWireUid, type P256KeyPair } from "./wire-crypto.js";

export type RecordData = Record<string, unknown>;

export interface FakeFolder {
  uid: string;
  key: Buffer;
  name: string;
  /** null for a shared folder (shared with the app); else the parent folder. */
  parentUid: string | null;
  /** The shared folder at the top of this folder's tree (itself for a shared folder). */
  sharedFolderUid: string;
  /** Whether the app may create/edit records in it. */
  editable: boolean;
}

export interface FakeRecord {
  uid: string;
  key: Buffer;
  data: RecordData;
  revision: number;
  /** The shared folder it lives in; null when the record itself is shared with the app. */
  folderUid: string | null;
  /** The sub-folder (inside the shared folder) it lives in, if any. */
  innerFolderUid: string | null;
  editable: boolean;
  /** Every version, oldest first, the current one last (Keeper keeps record history). */
  history: Array<{ revision: number; data: RecordData }>;
  /** File attachments, in the order they were attached. */
  files: FakeFile[];
}

/**
 * A file attached to a record, kept the way Keeper keeps one (what the SDK's `uploadFile` sends): its own
 * AES-256 file key (get_secret sends it GCM under the record key), its metadata `{name, title, size, type,
 * lastModified}` (sent GCM under the file key), and the content stored only encrypted, GCM under the file key:
 * those bytes are what the file's download `url` serves (on Keeper: a pre-signed storage URL).
 */
export interface FakeFile {
  uid: string;
  key: Buffer;
  meta: { name: string; title: string; size: number; type: string; lastModified: number };
  /** The stored bytes: `iv | ciphertext | tag` of the content under `key`. */
  encrypted: Buffer;
}

export interface PendingTransaction {
  type: string;
  /** The record before the update that opened the transaction (a rollback restores it). */
  before: { revision: number; data: RecordData };
}

export interface FakeClient {
  clientId: string;
  /** The one-time token's key (to wrap the app key at binding); null once bound from a ready config. */
  clientKey: Buffer | null;
  /** Raw P-256 public key; null until bound. */
  publicKey: Buffer | null;
}

export interface RequestLogEntry {
  endpoint: string;
  clientId: string | undefined;
  /** The decrypted request payload (test infrastructure: it may hold encrypted record data). */
  payload: Record<string, unknown> | undefined;
  statusCode: number;
}

export interface InjectedFailure {
  /** Endpoint to fail (e.g. "update_secret"); undefined for any. */
  endpoint?: string;
  statusCode: number;
  /** A JSON object (Keeper's own errors), or raw text (a proxy's "Bad Gateway" page). */
  body: Record<string, unknown> | string;
  remaining: number;
}

export interface FakeKeeperOptions {
  /** Host (and port) clients are told to use; the HTTPS server sets it when it starts. */
  hostname?: string;
  appTitle?: string;
  /** Id of the fake's server key (the `PublicKeyId` header). */
  serverKeyId?: number;
  /** First revision number handed out. */
  firstRevision?: number;
}

export class FakeKeeper {
  hostname: string;
  readonly app: { title: string; appKey: Buffer; owner: P256KeyPair };
  readonly server: { keyId: number; keys: P256KeyPair };
  readonly records = new Map<string, FakeRecord>();
  readonly folders = new Map<string, FakeFolder>();
  readonly clients = new Map<string, FakeClient>();
  readonly pending = new Map<string, PendingTransaction>();
  readonly requests: RequestLogEntry[] = [];
  /** File UIDs fetched from their download URL, in order (served by serveFakeKeeperHttps). */
  readonly downloads: string[] = [];
  readonly knobs = {
    /** 403 {"error":"throttled"} for the next `remaining` requests. */
    throttle: { remaining: 0, retryAfter: undefined as number | undefined },
    failures: [] as InjectedFailure[],
    /** Requests that are carried out, but whose answer is replaced by a 502 (a proxy losing the response). */
    lostResponses: [] as Array<{ endpoint?: string; remaining: number }>,
    /**
     * The body of a stale-revision update. Keeper's exact code is unconfirmed: "invalid_revision" (default,
     * `result_code` + `error`) or "out_of_sync" (the code Keeper's vault API uses for the same condition).
     */
    revisionError: "invalid_revision" as "invalid_revision" | "out_of_sync",
    /** What get_secret shows for a record with a pending transaction: the new data (default) or the old. */
    pendingView: "new" as "new" | "old",
    /** Refuse update_secret on a record whose transaction is still pending. */
    rejectUpdateWhilePending: true,
  };
  /** Called with each decrypted request before it is handled (simulate a concurrent edit, count calls...). */
  beforeRequest: ((endpoint: string, payload: Record<string, unknown>) => void) | undefined;
  #revision: number;

  constructor(opts: FakeKeeperOptions = {}) {
    this.hostname = opts.hostname ?? "fake.keeper.test";
    this.app = { title: opts.appTitle ?? "rekey test app", appKey: randomBytes(32), owner: generateP256() };
    this.server = { keyId: opts.serverKeyId ?? 100, keys: generateP256() };
    this.#revision = opts.firstRevision ?? 1_000;
  }

  /** The server public key as a KSM config's `serverPublicKey` (URL-safe base64 of the raw point). */
  get serverPublicKey(): string {
    return b64url(this.server.keys.publicRaw);
  }

  nextRevision(): number {
    this.#revision += 1 + Math.floor(Math.random() * 3);
    return this.#revision;
  }

  // ---- seeding ------------------------------------------------------------------------------------------

  addSharedFolder(name: string, opts: { uid?: string; editable?: boolean } = {}): FakeFolder {
    const uid = opts.uid ?? newWireUid();
    const folder: FakeFolder = {
      uid,
      key: randomBytes(32),
      name,
      parentUid: null,
      sharedFolderUid: uid,
      editable: opts.editable ?? true,
    };
    this.folders.set(uid, folder);
    return folder;
  }

  addSubFolder(parentUid: string, name: string, opts: { uid?: string } = {}): FakeFolder {
    const parent = this.#folder(parentUid);
    const uid = opts.uid ?? newWireUid();
    const folder: FakeFolder = {
      uid,
      key: randomBytes(32),
      name,
      parentUid,
      sharedFolderUid: parent.sharedFolderUid,
      editable: parent.editable,
    };
    this.folders.set(uid, folder);
    return folder;
  }

  /**
   * Put a record in the vault and share it with the app: in `folderUid` (a shared folder or one of its
   * sub-folders), or on its own (folderUid null/absent).
   */
  addRecord(
    data: RecordData,
    opts: { uid?: string; folderUid?: string | null; editable?: boolean } = {},
  ): FakeRecord {
    const uid = opts.uid ?? newWireUid();
    if (this.records.has(uid)) throw new Error(`fake keeper: record ${uid} exists`);
    const folder = opts.folderUid ? this.#folder(opts.folderUid) : undefined;
    const revision = this.nextRevision();
    const copy = structuredClone(data);
    const record: FakeRecord = {
      uid,
      key: randomBytes(32),
      data: copy,
      revision,
      folderUid: folder?.sharedFolderUid ?? null,
      innerFolderUid: folder && folder.parentUid !== null ? folder.uid : null,
      editable: opts.editable ?? folder?.editable ?? true,
      history: [{ revision, data: structuredClone(copy) }],
      files: [],
    };
    this.records.set(uid, record);
    return record;
  }

  /**
   * Attach a file to a record, as a vault user uploading it does: the file gets its own key and UID, and the
   * record a new revision whose `fileRef` field lists the file (added when the record has none), which is
   * what the SDK's `uploadFile` does to the record. get_secret then lists it in the record's `files`, and its
   * `url` (`https://<hostname>/files/<uid>`) is served by serveFakeKeeperHttps: start that server before
   * the SDK downloads it (also for in-process clients; the fake's certificate is from a test CA).
   */
  addFile(
    recordUid: string,
    file: { content: Uint8Array | string; name: string; title?: string; type?: string; uid?: string },
  ): FakeFile {
    const r = this.#record(recordUid);
    const uid = file.uid ?? newWireUid();
    if (this.fileByUid(uid)) throw new Error(`fake keeper: file ${uid} exists`);
    const key = randomBytes(32);
    const content = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
    const added: FakeFile = {
      uid,
      key,
      meta: {
        name: file.name,
        title: file.title ?? file.name,
        size: content.length,
        type: file.type ?? "application/octet-stream",
        lastModified: Date.now(),
      },
      encrypted: gcmEncrypt(key, content),
    };
    r.files.push(added);
    const data = structuredClone(r.data);
    const fields = Array.isArray(data.fields) ? (data.fields as Array<Record<string, unknown>>) : [];
    const fileRef = fields.find((f) => f.type === "fileRef");
    if (fileRef) fileRef.value = [...(Array.isArray(fileRef.value) ? fileRef.value : []), uid];
    else fields.push({ type: "fileRef", value: [uid] });
    data.fields = fields;
    this.writeRecord(r, data);
    return added;
  }

  /** The attached file with this UID, on whichever record. */
  fileByUid(uid: string): { record: FakeRecord; file: FakeFile } | undefined {
    for (const record of this.records.values()) {
      const file = record.files.find((f) => f.uid === uid);
      if (file) return { record, file };
    }
    return undefined;
  }

  /** The download URL of a file (what get_secret sends as `url`). */
  fileUrl(file: FakeFile): string {
    return `https://${this.hostname}/files/${file.uid}`;
  }

  /** A copy of the record's current data (what a vault user would see). */
  recordData(uid: string): RecordData {
    return structuredClone(this.#record(uid).data);
  }

  /** Another vault user edits the record: a new revision, like a save from the web vault. */
  editRecord(uid: string, mutate: (data: RecordData) => void): FakeRecord {
    const r = this.#record(uid);
    const data = structuredClone(r.data);
    mutate(data);
    this.writeRecord(r, data);
    return r;
  }

  removeRecord(uid: string): void {
    this.records.delete(uid);
    this.pending.delete(uid);
  }

  /** Store a new version of a record (endpoints and editRecord). */
  writeRecord(r: FakeRecord, data: RecordData): void {
    r.data = structuredClone(data);
    r.revision = this.nextRevision();
    r.history.push({ revision: r.revision, data: structuredClone(data) });
  }

  // ---- clients ------------------------------------------------------------------------------------------

  /**
   * A one-time token for a new client: the client key, URL-safe base64. Bind it with the SDK's
   * `initializeStorage(storage, token, fake.hostname)`; the first get_secret then binds the client.
   */
  createOneTimeToken(): string {
    const clientKey = randomBytes(32);
    const clientId = clientIdOf(clientKey);
    this.clients.set(clientId, { clientId, clientKey, publicKey: null });
    return b64url(clientKey);
  }

  /**
   * A KSM config for a client of this app. `bound` (default): ready to use, as the Gateway's config is.
   * Unbound: what `initializeStorage` leaves (clientKey, no appKey); its first get_secret binds it.
   * `serverPublicKey` (default true) points the SDK at the fake's own server key, needed over HTTPS.
   */
  createClientConfig(
    opts: { hostname?: string; bound?: boolean; serverPublicKey?: boolean } = {},
  ): KsmConfigJson {
    const keys = generateP256();
    const clientKey = randomBytes(32);
    const clientId = clientIdOf(clientKey);
    const bound = opts.bound ?? true;
    this.clients.set(clientId, { clientId, clientKey, publicKey: bound ? keys.publicRaw : null });
    const config: KsmConfigJson = {
      hostname: opts.hostname ?? this.hostname,
      clientId,
      privateKey: keys.privateKeyDer.toString("base64"),
    };
    if (bound) {
      config.appKey = this.app.appKey.toString("base64");
      config.appOwnerPublicKey = this.app.owner.publicRaw.toString("base64");
    } else {
      config.clientKey = b64url(clientKey);
    }
    if (opts.serverPublicKey ?? true) {
      config.serverPublicKeyId = String(this.server.keyId);
      config.serverPublicKey = this.serverPublicKey;
    }
    return config;
  }

  // ---- knobs --------------------------------------------------------------------------------------------

  /** Answer the next `count` requests with 403 {"error":"throttled"} (optionally with retry_after seconds). */
  throttleNext(count: number, retryAfterSeconds?: number): void {
    this.knobs.throttle = { remaining: count, retryAfter: retryAfterSeconds };
  }

  /** Fail the next `count` calls of `endpoint` (undefined: any) with this status and JSON body. */
  failNext(
    endpoint: string | undefined,
    failure: { statusCode?: number; body?: Record<string, unknown> | string } = {},
    count = 1,
  ): void {
    this.knobs.failures.push({
      ...(endpoint ? { endpoint } : {}),
      statusCode: failure.statusCode ?? 500,
      body: failure.body ?? { error: "internal_error", message: "injected failure" },
      remaining: count,
    });
  }

  /** Carry out the next `count` calls of `endpoint`, then answer 502 as if the response was lost on the way. */
  loseResponseOf(endpoint: string | undefined, count = 1): void {
    this.knobs.lostResponses.push({ ...(endpoint ? { endpoint } : {}), remaining: count });
  }

  /** Requests made so far to `endpoint` (all when undefined). */
  calls(endpoint?: string): RequestLogEntry[] {
    return endpoint ? this.requests.filter((r) => r.endpoint === endpoint) : [...this.requests];
  }

  // ---- plugging in --------------------------------------------------------------------------------------

  /** The SDK's `queryFunction` option: requests are handled in-process, no network, no server key needed. */
  get queryFunction(): NonNullable<SecretManagerOptions["queryFunction"]> {
    return queryFunctionFor(this);
  }

  /** Handle one request already split into its wire parts (used by queryFunction and the HTTPS server). */
  handle(req: WireRequest): KeeperHttpResponse {
    return handleWire(this, req);
  }

  // ---- internals ----------------------------------------------------------------------------------------

  #folder(uid: string): FakeFolder {
    const f = this.folders.get(uid);
    if (!f) throw new Error(`fake keeper: no folder ${uid}`);
    return f;
  }

  #record(uid: string): FakeRecord {
    const r = this.records.get(uid);
    if (!r) throw new Error(`fake keeper: no record ${uid}`);
    return r;
  }
}
