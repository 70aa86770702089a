/**
 * The Keeper Gateway's input to a PAM (post-rotation) script (keeper-protocol.md §1): one line on stdin,
 * base64 of a UTF-8 JSON object with seven keys; `records` is itself base64 of a JSON array of flattened
 * record dictionaries. This file reads that line, checks it, and writes it (for rekey's own gateway).
 *
 * Secrets: the line carries `newPassword`, `oldPassword` and record values (admin secret keys...). No error
 * message here quotes the input, and `GatewayParams` prints itself without them (toJSON/inspect).
 *
 * Flattening, as Keeper documents it and where it does not (be liberal when reading):
 * - one key per field: the field's label, else its type; `uid` and `title` come first;
 * - a repeated key gets a number appended. Keeper does not say how: rekey writes `login`, `login1`,
 *   `login2` (the first number from 1 that no field claims as its own name; `uid`/`title` are reserved too)
 *   and reads `login1`, `login_1`, `login-1`, `login 1`, `login (1)`;
 * - the `rotationScripts` field is left out;
 * - values: the field's first value. Strings, numbers and booleans stay as they are; an object value
 *   (`host`, `name`, `pamResources`, `schedule`...) is written as its JSON text; further values of a
 *   multi-valued field are dropped. Readers accept any JSON value (an array is read as its first element);
 * - a field with no value is left out. Inferred, not documented: the seed's instance-role mode only works if
 *   an empty `accessKeyId` of the PAM configuration is absent from its dictionary.
 */
import { inspect } from "node:util";
import { usageError } from "../errors.js";
import { REDACTED, Secret } from "../secret.js";
import type { KeeperRecord, RecordField } from "../vault/record.js";

/** One record as the Gateway flattens it: `uid`, `title`, then one key per field. */
export interface FlatRecord {
  uid: string;
  title: string;
  [key: string]: unknown;
}

/** The seven documented keys, parsed. */
export interface GatewayParamsInit {
  providerRecordUid: string | undefined;
  resourceRecordUid: string | undefined;
  userRecordUid: string;
  user: string;
  newPassword: Secret | undefined;
  oldPassword: Secret | undefined;
  records: FlatRecord[];
}

export class GatewayParams implements GatewayParamsInit {
  readonly providerRecordUid: string | undefined;
  readonly resourceRecordUid: string | undefined;
  readonly userRecordUid: string;
  readonly user: string;
  readonly newPassword: Secret | undefined;
  readonly oldPassword: Secret | undefined;
  readonly records: FlatRecord[];

  constructor(init: GatewayParamsInit) {
    this.providerRecordUid = init.providerRecordUid;
    this.resourceRecordUid = init.resourceRecordUid;
    this.userRecordUid = init.userRecordUid;
    this.user = init.user;
    this.newPassword = init.newPassword;
    this.oldPassword = init.oldPassword;
    this.records = init.records;
  }

  /** The dictionary of the record with this UID. */
  record(uid: string | undefined): FlatRecord | undefined {
    return uid ? this.records.find((r) => r.uid === uid) : undefined;
  }

  /** The PAM User record being rotated. */
  get userRecord(): FlatRecord | undefined {
    return this.record(this.userRecordUid);
  }

  /** What is safe to print: UIDs, the user, each record's uid, title and key names, never values. */
  toJSON(): Record<string, unknown> {
    return {
      providerRecordUid: this.providerRecordUid,
      resourceRecordUid: this.resourceRecordUid,
      userRecordUid: this.userRecordUid,
      user: this.user,
      newPassword: this.newPassword ? REDACTED : undefined,
      oldPassword: this.oldPassword ? REDACTED : undefined,
      records: this.records.map((r) => ({
        uid: r.uid,
        title: r.title,
        keys: Object.keys(r).filter((k) => k !== "uid" && k !== "title"),
      })),
    };
  }

  [inspect.custom](): string {
    return `GatewayParams ${inspect(this.toJSON(), { depth: 4 })}`;
  }
}

const HINT =
  "rekey keeper-script reads what the Keeper Gateway pipes to a PAM script: one line of base64 JSON; attach it to the PAM User record with script command `node`";

function bad(what: string) {
  return usageError(`the Gateway input on stdin ${what}`, HINT);
}

const B64_RE = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Base64 (standard or URL-safe, padding optional) → UTF-8 text, or undefined if it is not that. */
function decodeBase64Text(text: string): string | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length === 0 || !B64_RE.test(compact) || compact.length % 4 === 1) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(compact, "base64"));
  } catch {
    return undefined;
  }
}

function optionalUid(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw bad(`has a "${key}" that is not a string`);
  return v;
}

function optionalSecret(o: Record<string, unknown>, key: string): Secret | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw bad(`has a "${key}" that is not a string`);
  return new Secret(v);
}

export interface ParseGatewayOptions {
  /** Require the PAM User record (userRecordUid) among `records` (default true: the Gateway always sends it). */
  requireUserRecord?: boolean;
}

/**
 * Parse the Gateway's line (the first line of stdin). Every failure is a usage error naming what is wrong,
 * in one line, without quoting the input.
 *
 * @example
 * const params = parseGatewayParams(await readFirstLine(process.stdin));
 * params.user; params.userRecord?.aws_access_key_id;
 */
export function parseGatewayParams(line: string, opts: ParseGatewayOptions = {}): GatewayParams {
  const text = line.replace(/^\uFEFF/, "").trim();
  if (!text) throw bad("is empty: expected one line of base64");
  const json = decodeBase64Text(text);
  if (json === undefined) throw bad("is not base64 of UTF-8 text");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // Never the parser's message: it quotes the input.
    throw bad("is base64, but not of JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw bad("is JSON, but not an object");
  const o = value as Record<string, unknown>;

  if (typeof o.user !== "string" || !o.user.trim()) throw bad('has no "user" (the IAM user name to rotate)');
  const userRecordUid = optionalUid(o, "userRecordUid");
  if (!userRecordUid) throw bad('has no "userRecordUid" (the PAM User record to save the new key in)');
  const records = parseRecords(o.records);
  const params = new GatewayParams({
    providerRecordUid: optionalUid(o, "providerRecordUid"),
    resourceRecordUid: optionalUid(o, "resourceRecordUid"),
    userRecordUid,
    user: o.user.trim(),
    newPassword: optionalSecret(o, "newPassword"),
    oldPassword: optionalSecret(o, "oldPassword"),
    records,
  });
  if ((opts.requireUserRecord ?? true) && !params.userRecord) {
    throw bad(`names userRecordUid ${userRecordUid}, which is not among its ${records.length} records`);
  }
  return params;
}

function parseRecords(v: unknown): FlatRecord[] {
  if (v === undefined || v === null || v === "") throw bad('has no "records"');
  // Liberal: the documented form is base64 of a JSON array; an array given directly is taken as is.
  let list: unknown = v;
  if (typeof v === "string") {
    const json = decodeBase64Text(v);
    if (json === undefined) throw bad('has "records" that are not base64');
    try {
      list = JSON.parse(json);
    } catch {
      throw bad('has "records" that are base64, but not of JSON');
    }
  }
  if (!Array.isArray(list)) throw bad('has "records" that are not a JSON array');
  return list.map((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r))
      throw bad(`has records[${i}] that is not an object`);
    const rec = r as Record<string, unknown>;
    if (typeof rec.uid !== "string" || !rec.uid) throw bad(`has records[${i}] without a "uid"`);
    return { ...rec, uid: rec.uid, title: typeof rec.title === "string" ? rec.title : "" };
  });
}

// ---- reading values -------------------------------------------------------------------------------------

/** A flattened value as text: strings as they are, numbers/booleans printed, objects as JSON, "" as absent. */
export function flatValueText(v: unknown): string | undefined {
  if (Array.isArray(v)) return flatValueText(v[0]);
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** The value of key `name` in a flattened record (exact key), as text; undefined if absent or empty. */
export function flatValue(rec: FlatRecord, name: string): string | undefined {
  return Object.hasOwn(rec, name) ? flatValueText(rec[name]) : undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Every value of `name`, the repeats too (`name`, then `name1`, `name_2`, `name (3)`... in number order),
 * empty ones left out.
 */
export function flatValues(rec: FlatRecord, name: string): string[] {
  const re = new RegExp(`^${escapeRe(name)}(?:[ _-]?(\\d+)| \\((\\d+)\\))$`);
  const repeats: Array<[number, string]> = [];
  for (const [k, v] of Object.entries(rec)) {
    const m = re.exec(k);
    const text = m ? flatValueText(v) : undefined;
    if (m && text !== undefined) repeats.push([Number(m[1] ?? m[2]), text]);
  }
  repeats.sort((a, b) => a[0] - b[0]);
  const first = flatValue(rec, name);
  return [...(first === undefined ? [] : [first]), ...repeats.map(([, t]) => t)];
}

/**
 * A flattened dictionary as a KeeperRecord (type "general", each key a custom text field), so code written
 * for records (e.g. the engine's admin-credential shapes) reads the Gateway's dictionaries unchanged.
 */
export function flatToRecord(rec: FlatRecord): KeeperRecord {
  const custom: RecordField[] = [];
  for (const [key, v] of Object.entries(rec)) {
    if (key === "uid" || key === "title") continue;
    const text = flatValueText(v);
    if (text !== undefined) custom.push({ type: "text", label: key, value: [text] });
  }
  return { type: "general", title: rec.title || rec.uid, fields: [], custom, notes: "" };
}

// ---- writing (rekey's own gateway) ----------------------------------------------------------------------

function isRotationScripts(f: RecordField): boolean {
  return f.label === "rotationScripts" || (!f.label && f.type === "script");
}

function flatScalar(v: unknown): string | number | boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "number" || typeof v === "boolean") return v;
  return JSON.stringify(v);
}

/**
 * Flatten a record the way the Gateway does for a PAM script (rules at the top of this file).
 *
 * @example
 * flattenRecord("Xyz...", rec) // { uid: "Xyz...", title: "alice", login: "alice", aws_access_key_id: "AKIA..." }
 */
export function flattenRecord(uid: string, record: KeeperRecord): FlatRecord {
  const kept = [...record.fields, ...record.custom]
    .filter((f) => !isRotationScripts(f))
    .map((f) => ({ base: f.label || f.type, value: flatScalar(f.value[0]) }))
    .filter((f): f is { base: string; value: string | number | boolean } => f.value !== undefined);
  // First occurrences claim their own name before any repeat is numbered, so a field really labelled
  // "login1" keeps that key and the second "login" becomes "login2".
  const taken = new Set(["uid", "title"]);
  const keys = kept.map((f) => {
    if (taken.has(f.base)) return undefined;
    taken.add(f.base);
    return f.base;
  });
  const out: FlatRecord = { uid, title: record.title };
  kept.forEach((f, i) => {
    let key = keys[i];
    if (key === undefined) {
      let n = 1;
      while (taken.has(`${f.base}${n}`)) n++;
      key = `${f.base}${n}`;
      taken.add(key);
    }
    out[key] = f.value;
  });
  return out;
}

export interface EncodeGatewayInput {
  providerRecordUid?: string | undefined;
  resourceRecordUid?: string | undefined;
  userRecordUid: string;
  user: string;
  newPassword?: Secret | string | undefined;
  oldPassword?: Secret | string | undefined;
  /** Flattened records, or records to flatten, in the Gateway's order: configuration, resource, extras, user. */
  records: Array<FlatRecord | { uid: string; record: KeeperRecord }>;
}

const reveal = (s: Secret | string | undefined) => (s instanceof Secret ? s.reveal() : (s ?? ""));

/**
 * The exact line the Gateway writes to a PAM script's stdin (base64, no newline; the caller adds "\n").
 * The result carries secrets: write it to the script's stdin only, never to a log or argv.
 */
export function encodeGatewayParams(input: EncodeGatewayInput): string {
  const records = input.records.map((r) =>
    "record" in r && typeof r.record === "object"
      ? flattenRecord(r.uid, r.record as KeeperRecord)
      : (r as FlatRecord),
  );
  const json = {
    providerRecordUid: input.providerRecordUid ?? "",
    resourceRecordUid: input.resourceRecordUid ?? "",
    userRecordUid: input.userRecordUid,
    newPassword: reveal(input.newPassword),
    oldPassword: reveal(input.oldPassword),
    user: input.user,
    records: Buffer.from(JSON.stringify(records), "utf8").toString("base64"),
  };
  return Buffer.from(JSON.stringify(json), "utf8").toString("base64");
}

// ---- stdin ----------------------------------------------------------------------------------------------

export interface ReadLineOptions {
  /** Refuse a longer line (default 8 MiB). */
  maxBytes?: number;
  /** Give up when nothing complete arrived in this time (default: wait for the line or EOF). */
  timeoutMs?: number;
}

/**
 * Read the first line of a stream (stdin): up to the first "\n", or all of it at EOF. Stops reading after
 * the line, so a Gateway that keeps the pipe open does not keep the script alive.
 */
export async function readFirstLine(
  stream: NodeJS.ReadableStream & { isTTY?: boolean; destroy?: () => void },
  opts: ReadLineOptions = {},
): Promise<string> {
  if (stream.isTTY) throw bad("is a terminal, not the Gateway's pipe");
  const maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, line?: string) => {
      if (timer) clearTimeout(timer);
      stream.removeListener("data", onData);
      stream.removeListener("end", onEnd);
      stream.removeListener("error", onError);
      stream.pause();
      if (err) reject(err);
      else resolve(line ?? "");
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      const nl = b.indexOf(0x0a);
      if (nl >= 0) {
        chunks.push(b.subarray(0, nl));
        finish(undefined, Buffer.concat(chunks).toString("utf8"));
        return;
      }
      chunks.push(b);
      size += b.length;
      if (size > maxBytes) finish(bad(`has a line longer than ${maxBytes} bytes`));
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks).toString("utf8"));
    const onError = (err: Error) => finish(usageError(`stdin cannot be read: ${err.message}`, HINT));
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(
        () => finish(bad(`sent no complete line within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
    }
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.resume();
  });
}
