/**
 * Small pieces between KeeperVault and the KSM SDK: the process-wide exclusive section the SDK's key cache
 * needs, the proxy agent it is given, and conversions of SDK records and folders.
 */
import { isDeepStrictEqual } from "node:util";
import {
  type KeeperFolder,
  type KeeperRecord as SdkRecord,
  setCustomProxyAgent,
} from "@keeper-security/secrets-manager-core";
import { envProxyAgent, proxyConfigured } from "../../proxy.js";
import { type KeeperRecord, parseRecord } from "../../vault/record.js";
import type { StoredRecord } from "../../vault/store.js";

let queue: Promise<unknown> = Promise.resolve();

/** Run SDK work exclusively (process-wide: the SDK's key cache is process-wide). */
export function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

let keyCacheGeneration = 0;

/**
 * The SDK empties its process-wide key cache at every getSecrets and getFolders: call this right before each
 * (inside exclusive). What a read returned is current in that cache until the next one.
 */
export function keyCacheEmptied(): number {
  return ++keyCacheGeneration;
}

/** Which read filled the SDK's key cache last (keyCacheEmptied's number). */
export function currentKeyCache(): number {
  return keyCacheGeneration;
}

let proxyAgentSet = false;

/**
 * With HTTPS_PROXY / HTTP_PROXY set, send the SDK's requests (KSM API posts, file downloads and uploads)
 * through the proxy their URL calls for (../proxy.ts). The SDK's Node platform calls `https.request` with the
 * agent given to its `setCustomProxyAgent`, one for the whole process (as its key cache is): set once.
 */
export async function useProxyFromEnvironment(): Promise<void> {
  if (proxyAgentSet || !proxyConfigured()) return;
  const agent = await envProxyAgent({ keepAlive: true });
  if (proxyAgentSet) {
    agent.destroy(); // set meanwhile by a concurrent open
    return;
  }
  setCustomProxyAgent(agent);
  proxyAgentSet = true;
}

/** Record data as Keeper holds it (KeeperRecord plus any keys rekey does not model, kept on save). */
export type RecordData = Record<string, unknown>;

export function toStored(r: SdkRecord): StoredRecord | undefined {
  let record: KeeperRecord;
  try {
    record = parseRecord(r.data, `Keeper record ${r.recordUid}`);
  } catch {
    return undefined;
  }
  // KSM gives no timestamps: createdAt/updatedAt stay empty.
  return {
    uid: r.recordUid,
    folderUid: r.innerFolderUid ?? r.folderUid ?? null,
    revision: r.revision,
    record,
    createdAt: "",
    updatedAt: "",
  };
}

export function sameContent(data: RecordData | undefined, record: KeeperRecord): boolean {
  if (!data) return false;
  const { type, title, notes, fields, custom } = data;
  return isDeepStrictEqual(
    { type, title, notes: notes ?? "", fields: fields ?? [], custom: custom ?? [] },
    record,
  );
}

/** The shared folder at the top of `uid`'s folder tree, or undefined if the app does not see `uid`. */
export function sharedRoot(folders: KeeperFolder[], uid: string): string | undefined {
  let cur = folders.find((f) => f.folderUid === uid);
  for (let hops = 0; cur && hops < 64; hops++) {
    if (!cur.parentUid) return cur.folderUid;
    const parent: string = cur.parentUid;
    cur = folders.find((f) => f.folderUid === parent);
  }
  return undefined;
}
