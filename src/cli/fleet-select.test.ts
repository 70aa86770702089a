import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import type { UserStatus } from "../gateway/status.js";
import { pickFolder } from "../vault/find-record.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import type { Folder, StoredRecord } from "../vault/store.js";
import { type FleetSelectors, parseConcurrency, parseTarget, selectRecords } from "./fleet-select.js";

const NOW = new Date("2025-06-01T00:00:00Z");
const DAY = 86_400_000;

function user(
  uid: string,
  o: { type?: string; folder?: string | null; keyId?: string; created?: string; login?: string } = {},
): StoredRecord {
  const record = newRecord(o.type ?? "pamUser", `title-${uid}`);
  if (o.login !== "") setFieldValue(record, "login", o.login ?? uid);
  if (o.keyId !== undefined) setFieldValue(record, "aws_access_key_id", o.keyId);
  if (o.created !== undefined) setFieldValue(record, "CreateDate", o.created);
  return {
    uid,
    folderUid: o.folder ?? null,
    revision: 1,
    record,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  };
}

const folders: Folder[] = [
  { uid: "F-prod", name: "prod", parentUid: null, shared: true },
  { uid: "F-prod-db", name: "db", parentUid: "F-prod", shared: false },
  { uid: "F-prod-db-x", name: "x", parentUid: "F-prod-db", shared: false },
  { uid: "F-dev", name: "dev", parentUid: null, shared: true },
  { uid: "F-dup1", name: "same", parentUid: null, shared: true },
  { uid: "F-dup2", name: "same", parentUid: null, shared: true },
];

const old = new Date(NOW.getTime() - 100 * DAY).toISOString();
const fresh = new Date(NOW.getTime() - 1 * DAY).toISOString();
const records: StoredRecord[] = [
  user("a", { folder: "F-prod", keyId: "AKIAOLD", created: old }),
  user("b", { folder: "F-prod-db", keyId: "AKIAFRESH", created: fresh }),
  user("c", { folder: "F-prod-db-x" }), // no key yet
  user("d", { folder: "F-dev", keyId: "AKIAOLD2", created: old }),
  user("e", { keyId: "AKIANODATE" }), // a key of unknown age, at the root
  user("f", { keyId: "-", created: "-" }), // the template's placeholders: no key
  // The seed's template (login + aws_access_key_id) manages an IAM user; a plain login does not.
  user("g", { type: "login", folder: "F-prod", keyId: "AKIAG", created: fresh }),
  user("h", { type: "login", folder: "F-prod", login: "" }),
  user("cfg", { type: "pamAwsConfiguration", folder: "F-prod", login: "" }),
];

function statusRow(uid: string, nextRotation: string | null): UserStatus {
  return { uid, nextRotation } as UserStatus;
}
const status = [
  statusRow("a", new Date(NOW.getTime() - 1000).toISOString()), // overdue
  statusRow("b", NOW.toISOString()), // exactly now: due (status says "due now")
  statusRow("c", new Date(NOW.getTime() + 1000).toISOString()), // a second from now: not due
  statusRow("d", null), // on demand only
  statusRow("e", old),
];

const sel = (o: Partial<FleetSelectors>): FleetSelectors => ({
  all: false,
  folder: undefined,
  olderThanMs: undefined,
  due: false,
  ...o,
});

const cases: Array<{ name: string; sel: FleetSelectors; want: string[] }> = [
  {
    name: "--all: every record that manages an IAM user",
    sel: sel({ all: true }),
    want: ["a", "b", "c", "d", "e", "f", "g"],
  },
  {
    name: "--folder by name, sub-folders included",
    sel: sel({ folder: "prod" }),
    want: ["a", "b", "c", "g"],
  },
  { name: "--folder by UID of a sub-folder", sel: sel({ folder: "F-prod-db" }), want: ["b", "c"] },
  { name: "--folder dev", sel: sel({ folder: "dev" }), want: ["d"] },
  {
    name: "--older-than 90d: old keys, no key, undated key",
    sel: sel({ olderThanMs: 90 * DAY }),
    want: ["a", "c", "d", "e", "f"],
  },
  {
    name: "--older-than 0: every key",
    sel: sel({ olderThanMs: 0 }),
    want: ["a", "b", "c", "d", "e", "f", "g"],
  },
  { name: "--due: at or before now (status's 'due now')", sel: sel({ due: true }), want: ["a", "b", "e"] },
  {
    name: "--folder prod --older-than 90d (AND)",
    sel: sel({ folder: "prod", olderThanMs: 90 * DAY }),
    want: ["a", "c"],
  },
  { name: "--folder prod --due (AND)", sel: sel({ folder: "prod", due: true }), want: ["a", "b"] },
  {
    name: "--all with others adds no restriction",
    sel: sel({ all: true, folder: "prod", olderThanMs: 90 * DAY }),
    want: ["a", "c"],
  },
  { name: "--folder dev --due: none", sel: sel({ folder: "dev", due: true }), want: [] },
];

for (const c of cases) {
  test(`selectRecords: ${c.name}`, () => {
    const got = selectRecords({ records, folders, status }, c.sel, NOW).map((r) => r.uid);
    assert.deepEqual(got, c.want);
  });
}

test("selectRecords: sorted by title, then UID (the summary's order)", () => {
  const z = user("z1");
  z.record.title = "alpha";
  const y = user("y1");
  y.record.title = "alpha";
  const got = selectRecords({ records: [records[0]!, z, y], folders }, sel({ all: true }), NOW);
  assert.deepEqual(
    got.map((r) => r.uid),
    ["y1", "z1", "a"],
  );
});

test("pickFolder: UID, unique name; unknown is not-found, ambiguous is a conflict", () => {
  assert.equal(pickFolder(folders, "F-dev").uid, "F-dev");
  assert.equal(pickFolder(folders, "db").uid, "F-prod-db");
  assert.equal(pickFolder(folders, "F-dup2").uid, "F-dup2");
  assert.throws(
    () => pickFolder(folders, "nope"),
    (e: RekeyError) => e.kind === "not-found",
  );
  assert.throws(
    () => pickFolder(folders, "same"),
    (e: RekeyError) => e.kind === "conflict" && /F-dup1, F-dup2/.test(e.message),
  );
});

const usage = (e: unknown) => e instanceof RekeyError && e.kind === "usage";

const targetCases: Array<{ name: string; ref?: string; opts: Record<string, unknown>; want: unknown }> = [
  { name: "a record alone", ref: "alice", opts: {}, want: { kind: "one", ref: "alice" } },
  {
    name: "--all",
    opts: { all: true },
    want: { kind: "many", selectors: sel({ all: true }) },
  },
  {
    name: "--folder --older-than --due",
    opts: { folder: "prod", olderThan: "1d12h", due: true },
    want: { kind: "many", selectors: sel({ folder: "prod", olderThanMs: 36 * 3_600_000, due: true }) },
  },
  { name: "a record and --all", ref: "alice", opts: { all: true }, want: /not both/ },
  { name: "a record and --folder", ref: "alice", opts: { folder: "prod" }, want: /not both/ },
  { name: "a record and --due", ref: "alice", opts: { due: true }, want: /not both/ },
  { name: "a record and --concurrency", ref: "alice", opts: { concurrency: "2" }, want: /--concurrency/ },
  { name: "neither", opts: {}, want: /which records/ },
  { name: "a bad --older-than", opts: { olderThan: "90 days" }, want: /not a duration/ },
  { name: "an empty --folder", opts: { folder: " " }, want: /--folder is empty/ },
];

for (const c of targetCases) {
  test(`parseTarget: ${c.name}`, () => {
    if (c.want instanceof RegExp) {
      const re = c.want;
      assert.throws(
        () => parseTarget(c.ref, c.opts),
        (e: unknown) => usage(e) && re.test((e as Error).message),
      );
    } else assert.deepEqual(parseTarget(c.ref, c.opts), c.want);
  });
}

test("parseTarget: with neither, the message names every selector", () => {
  assert.throws(
    () => parseTarget(undefined, {}),
    (e: RekeyError) => /--all, --folder <folder>, --older-than <age> or --due/.test(e.hint ?? ""),
  );
});

for (const [value, want] of [
  [undefined, 4],
  ["1", 1],
  ["16", 16],
  [" 3 ", 3],
] as const) {
  test(`parseConcurrency(${JSON.stringify(value)}) = ${want}`, () =>
    assert.equal(parseConcurrency(value), want));
}
for (const bad of ["0", "-2", "1.5", "four", "", "1e3", "99999999999999999999"]) {
  test(`parseConcurrency(${JSON.stringify(bad)}) is a usage error`, () => {
    assert.throws(() => parseConcurrency(bad), usage);
  });
}
