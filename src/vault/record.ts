/**
 * Keeper v3 record JSON, the one record model of rekey (keeper-protocol.md §2).
 * Pure data helpers only: no I/O, no crypto.
 */
import { randomBytes } from "node:crypto";
import { notFound, usageError } from "../errors.js";

/** A field is `{type, label?, value[]}`; values are usually strings, some types hold objects. */
export interface RecordField {
  type: string;
  label?: string;
  value: unknown[];
  /** Keeper's own flags, kept as they come (e.g. `required`, `privacyScreen`). */
  [extra: string]: unknown;
}

export interface KeeperRecord {
  type: string;
  title: string;
  fields: RecordField[];
  custom: RecordField[];
  notes: string;
}

/**
 * Keeper's standard record types. rekey gives the first five their standard fields (TYPE_FIELDS); the
 * others are known by name only (a CSV `$type` is checked against this list) and get no standard
 * fields, as before they were listed.
 */
export const RECORD_TYPES = [
  "login",
  "pamUser",
  "pamAwsConfiguration",
  "pamMachine",
  "general",
  "file",
  "bankAccount",
  "bankCard",
  "address",
  "contact",
  "birthCertificate",
  "driverLicense",
  "healthInsurance",
  "membership",
  "passport",
  "photo",
  "softwareLicense",
  "ssnCard",
  "encryptedNotes",
  "serverCredentials",
  "databaseCredentials",
  "sshKeys",
  "wifiCredentials",
  "pamDatabase",
  "pamDirectory",
  "pamRemoteBrowser",
  "pamAzureConfiguration",
  "pamGcpConfiguration",
  "pamNetworkConfiguration",
  "pamDomainConfiguration",
  "pamOciConfiguration",
] as const;
export type KnownRecordType = (typeof RECORD_TYPES)[number];

/** The standard fields of the types rekey builds, in order (keeper-protocol.md §2). */
export const TYPE_FIELDS: Partial<Record<KnownRecordType, Array<{ type: string; label?: string }>>> = {
  login: [
    { type: "login" },
    { type: "password" },
    { type: "url" },
    { type: "fileRef" },
    { type: "oneTimeCode" },
  ],
  pamUser: [
    { type: "login" },
    { type: "password" },
    { type: "secret", label: "privatePEMKey" },
    { type: "text", label: "distinguishedName" },
    { type: "text", label: "connectDatabase" },
    { type: "checkbox", label: "managed" },
    { type: "oneTimeCode" },
    { type: "fileRef" },
    { type: "script", label: "rotationScripts" },
  ],
  pamAwsConfiguration: [
    { type: "text", label: "awsId" },
    { type: "secret", label: "accessKeyId" },
    { type: "secret", label: "accessSecretKey" },
    { type: "multiline", label: "regionNames" },
    { type: "pamResources" },
    { type: "schedule", label: "defaultRotationSchedule" },
    { type: "fileRef" },
  ],
  pamMachine: [
    { type: "pamHostname" },
    { type: "text", label: "operatingSystem" },
    { type: "fileRef" },
    { type: "script", label: "rotationScripts" },
  ],
  general: [{ type: "login" }, { type: "password" }, { type: "url" }, { type: "fileRef" }],
};

/** Field types whose values are secret: masked by `show`, hidden in Keeper's UI. */
export const SECRET_FIELD_TYPES = new Set(["password", "secret", "oneTimeCode", "keyPair", "pinCode"]);

/**
 * Labels whose values are secret whatever the field's type (compared ignoring case). A CSV column
 * `aws_secret_access_key` or a hand-written JSON record gives a `text` field with such a label: its
 * value is as secret as the one in a `secret` field, so it is masked, redacted from script output and
 * made a `secret` field when the record is next saved (`parseRecord`).
 */
export const SECRET_FIELD_LABELS: ReadonlySet<string> = new Set(
  [
    "aws_secret_access_key",
    "aws_session_token",
    "accessSecretKey",
    "sessionToken",
    "secretAccessKey",
    "password",
    "secret",
    "passphrase",
    "privatePEMKey",
  ].map((l) => l.toLowerCase()),
);

/**
 * Whether a field holds a secret: by its type (SECRET_FIELD_TYPES) or by its label
 * (SECRET_FIELD_LABELS). The one place rekey decides it: masking, script-output redaction and the
 * type a field is saved with all ask here.
 * @example isSecretField({ type: "text", label: "aws_secret_access_key" }) // true
 */
export function isSecretField(field: Pick<RecordField, "type"> & { label?: string | undefined }): boolean {
  return (
    SECRET_FIELD_TYPES.has(field.type) ||
    (typeof field.label === "string" && SECRET_FIELD_LABELS.has(field.label.toLowerCase()))
  );
}

/** Field types holding plain text, which a secret label turns into a hidden `secret` field. */
const PLAIN_TEXT_TYPES = new Set(["text", "multiline"]);

/** 16 random bytes, URL-safe base64 without padding (22 chars), never starting with `-`. */
export function newUid(): string {
  for (;;) {
    const uid = randomBytes(16).toString("base64url");
    if (!uid.startsWith("-")) return uid;
  }
}

const UID_RE = /^[A-Za-z0-9_-]{22}$/;
export function looksLikeUid(s: string): boolean {
  return UID_RE.test(s);
}

export function isKnownType(type: string): type is KnownRecordType {
  return (RECORD_TYPES as readonly string[]).includes(type);
}

/**
 * The known record type `type` names, ignoring case (`pamuser` → `pamUser`); undefined when none does.
 * @example knownTypeIgnoringCase("PAMUSER") // "pamUser"
 */
export function knownTypeIgnoringCase(type: string): KnownRecordType | undefined {
  const t = type.trim().toLowerCase();
  return RECORD_TYPES.find((k) => k.toLowerCase() === t);
}

/** A new record of `type` with its standard (empty) fields. */
export function newRecord(type: string, title: string, notes = ""): KeeperRecord {
  if (!title.trim()) throw usageError("a record needs a non-empty title", "give it a title");
  const fields = (isKnownType(type) ? (TYPE_FIELDS[type] ?? []) : []).map((f) =>
    f.label ? { type: f.type, label: f.label, value: [] } : { type: f.type, value: [] },
  );
  return { type, title, fields, custom: [], notes };
}

/** Deep copy: records are plain JSON. */
export function cloneRecord(r: KeeperRecord): KeeperRecord {
  return structuredClone(r);
}

/** Where a field was found. */
export interface FieldRef {
  section: "fields" | "custom";
  index: number;
  field: RecordField;
}

/**
 * Find a field by label (searching `fields`, then `custom`), else by type (`fields`, then `custom`).
 * Label matches win over type matches, so `password` finds the standard password field unless a field
 * is labelled "password".
 */
export function findField(r: KeeperRecord, name: string): FieldRef | undefined {
  // One pass over both sections, remembering the first match of each rank (1: by label, 2: by type of an
  // unlabelled field, 3: by type): a record is searched for absent fields most of the time, and six scans
  // of it (one a rank and section) made this the most called function of `rekey status`.
  const fields = r.fields;
  const custom = r.custom;
  let typeUnlabelled: FieldRef | undefined;
  let typeAny: FieldRef | undefined;
  let labelInCustom: FieldRef | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.label === name) return { section: "fields", index: i, field: f };
    if (f.type === name && typeAny === undefined) {
      typeAny = { section: "fields", index: i, field: f };
      if (!f.label) typeUnlabelled = typeAny;
    } else if (f.type === name && !f.label && typeUnlabelled === undefined) {
      typeUnlabelled = { section: "fields", index: i, field: f };
    }
  }
  for (let i = 0; i < custom.length; i++) {
    const f = custom[i]!;
    if (f.label === name) {
      labelInCustom = { section: "custom", index: i, field: f };
      break;
    }
    if (f.type === name) {
      if (!f.label && typeUnlabelled === undefined)
        typeUnlabelled = { section: "custom", index: i, field: f };
      typeAny ??= { section: "custom", index: i, field: f };
    }
  }
  return labelInCustom ?? typeUnlabelled ?? typeAny;
}

/** A field's first value as a string ("" for missing/empty; objects as JSON). */
export function getFieldValue(r: KeeperRecord, name: string): string | undefined {
  const ref = findField(r, name);
  if (!ref) return undefined;
  const v = ref.field.value[0];
  if (v === undefined || v === null) return "";
  return typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
      ? String(v)
      : JSON.stringify(v);
}

/** Like getFieldValue, but the record must have the field with a non-empty value. */
export function requireFieldValue(r: KeeperRecord, name: string, recordLabel = r.title): string {
  const v = getFieldValue(r, name);
  if (!v)
    throw notFound(
      `record "${recordLabel}" has no value in field "${name}"`,
      `set it: rekey record edit "${recordLabel}" --set ${name}=VALUE`,
    );
  return v;
}

export interface SetFieldOptions {
  /** Type of a custom field created when missing: `text` (default) or `secret` for hidden values. */
  type?: string;
}

/**
 * Set a field's value by label or type, in place. A missing field is created in `custom` with the
 * given type (`text` unless told; `secret` for hidden values). An empty string clears the value.
 * Returns the previous first value.
 */
export function setFieldValue(
  r: KeeperRecord,
  name: string,
  value: string | unknown[],
  opts: SetFieldOptions = {},
): string | undefined {
  const values = Array.isArray(value) ? value : value === "" ? [] : [value];
  const ref = findField(r, name);
  if (ref) {
    const prev = getFieldValue(r, name);
    ref.field.value = values;
    if (opts.type && ref.section === "custom" && ref.field.type !== opts.type) ref.field.type = opts.type;
    return prev;
  }
  const type = opts.type ?? "text";
  // A bare standard type name with no label becomes a typed field; anything else is a labelled custom field.
  const isStandardType = SECRET_FIELD_TYPES.has(name) || ["login", "url", "email"].includes(name);
  r.custom.push(
    isStandardType && !opts.type ? { type: name, value: values } : { type, label: name, value: values },
  );
  return undefined;
}

export function removeField(r: KeeperRecord, name: string): boolean {
  const ref = findField(r, name);
  if (!ref) return false;
  r[ref.section].splice(ref.index, 1);
  return true;
}

/** True/yes/1/on (any case) → true. The seed writes "True"/"False". */
export function parseBool(v: string | undefined): boolean {
  return v !== undefined && ["true", "yes", "1", "on", "y"].includes(v.trim().toLowerCase());
}

const TRUE_WORDS = ["true", "yes", "y", "1", "on"];
const FALSE_WORDS = ["false", "no", "n", "0", "off"];
/** How the accepted spellings are described in errors. */
export const BOOL_SPELLINGS = "True/False, yes/no, 1/0, on/off (any case); empty = not set";

/**
 * Like parseBool, but a value that is neither true nor false is refused rather than read as false: a
 * typo such as `delete_all_keys_before_rotating=maybe` must not silently pick the other behaviour.
 * Empty or missing means "not set", which is false.
 * @throws RekeyError (usage) naming `where` (e.g. `record "alice", field NOOP`) and the accepted values.
 * @example parseStrictBool("True", 'record "alice", field NOOP') // true
 */
export function parseStrictBool(value: string | undefined, where: string): boolean {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || FALSE_WORDS.includes(v)) return false;
  if (TRUE_WORDS.includes(v)) return true;
  throw usageError(`${where}: "${value}" is not a yes/no value`, `use ${BOOL_SPELLINGS}`);
}

/**
 * Change a record's type (e.g. the seed's template imports as `login`, then becomes `pamUser`).
 * Values of fields both types share are kept; the new type's standard fields are added empty;
 * fields the new type does not have move to `custom` so nothing is lost.
 */
export function convertRecord(r: KeeperRecord, type: string): KeeperRecord {
  if (!isKnownType(type))
    throw usageError(`unknown record type "${type}"`, `use one of: ${RECORD_TYPES.join(", ")}`);
  const out = newRecord(type, r.title, r.notes);
  const leftovers = [...r.fields];
  for (const f of out.fields) {
    const i = leftovers.findIndex((o) => o.type === f.type && (o.label ?? "") === (f.label ?? ""));
    if (i >= 0) {
      f.value = structuredClone(leftovers[i]!.value);
      leftovers.splice(i, 1);
    }
  }
  out.custom = [
    ...leftovers.filter((f) => f.value.length > 0).map((f) => structuredClone(f)),
    ...structuredClone(r.custom),
  ];
  return out;
}

/**
 * Validate an untrusted object as a record (from JSON input, CSV, Keeper). Every save goes through
 * here, so a text field with a secret label (SECRET_FIELD_LABELS) is saved as a `secret` field.
 */
export function parseRecord(input: unknown, where = "record"): KeeperRecord {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw usageError(
      `${where} is not a JSON object`,
      'give a Keeper v3 record: {"type", "title", "fields": [], "custom": []}',
    );
  }
  const o = input as Record<string, unknown>;
  if (typeof o.type !== "string" || !o.type)
    throw usageError(`${where} has no "type"`, 'add "type": "pamUser" (or login, pamAwsConfiguration)');
  if (typeof o.title !== "string" || !o.title.trim())
    throw usageError(`${where} has no "title"`, 'add a non-empty "title"');
  const fields = parseFields(o.fields, `${where}.fields`);
  const custom = parseFields(o.custom, `${where}.custom`);
  const notes = o.notes === undefined || o.notes === null ? "" : String(o.notes);
  return { type: o.type, title: o.title, fields, custom, notes };
}

function parseFields(v: unknown, where: string): RecordField[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v))
    throw usageError(`${where} is not an array`, 'fields are [{"type", "label"?, "value": [...]}]');
  return v.map((f, i) => {
    if (typeof f !== "object" || f === null || typeof (f as RecordField).type !== "string") {
      throw usageError(
        `${where}[${i}] has no "type"`,
        'each field needs a "type" such as text, secret, login',
      );
    }
    const field = f as RecordField;
    const value = field.value === undefined ? [] : Array.isArray(field.value) ? field.value : [field.value];
    const out: RecordField = { ...field, value };
    if (field.label === undefined || field.label === "") delete out.label;
    // A secret kept in a plain text field (e.g. a CSV column aws_secret_access_key) becomes hidden.
    if (PLAIN_TEXT_TYPES.has(out.type) && isSecretField(out)) out.type = "secret";
    return out;
  });
}
