import assert from "node:assert/strict";
import { test } from "node:test";
import type { JournalEntry, StoredRecord } from "../../vault/store.js";
import {
  fileTimestamp,
  journalsMissingFromBackup,
  type RestoreFacts,
  recordsNewerThanBackup,
  restoreRefusals,
} from "./sqlite-backup-plan.js";

const journal = (id: string, updatedAt: string): JournalEntry => ({
  id,
  recordUid: "r1",
  kind: "rotation",
  state: {},
  createdAt: "2025-01-01T00:00:00.000Z",
  updatedAt,
});

const stored = (uid: string, revision: number, key?: string): StoredRecord => ({
  uid,
  revision,
  folderUid: null,
  record: { type: "pamUser", title: `t-${uid}`, fields: [], custom: [], notes: key ?? "" },
  createdAt: "",
  updatedAt: "",
});

test("journal entries the backup lacks: new ones and ones updated since", () => {
  const live = [journal("a", "t1"), journal("b", "t2"), journal("c", "t3")];
  const backup = [journal("a", "t1"), journal("b", "t0")];
  assert.deepEqual(
    journalsMissingFromBackup(live, backup).map((j) => j.id),
    ["b", "c"],
  );
  assert.deepEqual(journalsMissingFromBackup([], backup), []);
});

test("restore refusals (table): each fact refuses on its own; a clean restore has none", () => {
  const base: RestoreFacts = {
    live: { state: "ok", vaultId: "V" },
    backupVaultId: "V",
    leases: [],
    missingJournals: [],
  };
  const cases: Array<[string, Partial<RestoreFacts>, string[]]> = [
    ["clean", {}, []],
    ["no live vault", { live: { state: "missing" } }, []],
    ["damaged live vault", { live: { state: "unreadable", why: "corrupt" } }, ["live-unreadable"]],
    ["another vault", { backupVaultId: "W" }, ["other-vault"]],
    [
      "a lease held",
      {
        leases: [
          { recordUid: "gateway:r1", owner: "rekey-gateway@h:1:ab", expiresAt: "2030-01-01T00:00:00.000Z" },
        ],
      },
      ["lease-held"],
    ],
    [
      "a rotation in flight",
      {
        missingJournals: [
          { id: "j", recordUid: "r1", kind: "rotation", updatedAt: "t", keyIds: ["AKIANEW00000000000001"] },
        ],
      },
      ["journal-missing"],
    ],
  ];
  for (const [name, change, want] of cases) {
    const got = restoreRefusals({ ...base, ...change });
    assert.deepEqual(
      got.map((r) => r.code),
      want,
      name,
    );
  }
  const [j] = restoreRefusals({
    ...base,
    missingJournals: [{ id: "j", recordUid: "r1", kind: "rotation", updatedAt: "t", keyIds: ["AKIANEW1"] }],
  });
  assert.match(j!.message, /naming key\(s\) AKIANEW1/);
});

test("records newer in the live vault than in the backup, with key changes", () => {
  const live = [
    stored("same", 2, "K1"),
    stored("edited", 3, "K1"),
    stored("rotated", 4, "K2"),
    stored("new", 1, "K9"),
  ];
  const backup = [
    stored("same", 2, "K1"),
    stored("edited", 2, "K1"),
    stored("rotated", 3, "K1"),
    stored("gone", 5),
  ];
  const newer = recordsNewerThanBackup(live, backup, (r) => r.record.notes || undefined);
  assert.deepEqual(newer, [
    { uid: "edited", title: "t-edited", liveRevision: 3, backupRevision: 2, keyChanged: false },
    { uid: "rotated", title: "t-rotated", liveRevision: 4, backupRevision: 3, keyChanged: true },
    { uid: "new", title: "t-new", liveRevision: 1, backupRevision: null, keyChanged: true },
  ]);
});

test("fileTimestamp: UTC, no colons", () => {
  assert.equal(fileTimestamp(new Date("2025-03-04T05:06:07.890Z")), "20250304T050607Z");
});
