import assert from "node:assert/strict";
import { test } from "node:test";
import { duplicateGroups } from "../rotation/same-user.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { sameUserIndex, userIdentity } from "./status-same-user.js";

/** The map status built from duplicateGroups before (the reference). */
function reference(records: StoredRecord[]): Map<string, Array<{ uid: string; title: string }>> {
  const out = new Map<string, Array<{ uid: string; title: string }>>();
  for (const group of duplicateGroups(records)) {
    for (const r of group) {
      out.set(
        r.uid,
        group.filter((o) => o.uid !== r.uid).map((o) => ({ uid: o.uid, title: o.record.title })),
      );
    }
  }
  return out;
}

/** A small deterministic PRNG (the same cases every run). */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function randomVault(rand: () => number, n: number): StoredRecord[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const r = newRecord("pamUser", `t${i}`);
    const login = pick(["alice", "Alice ", "bob", "carol", "", "dave"]);
    if (login || rand() < 0.5) setFieldValue(r, "login", login);
    const userId = pick([undefined, undefined, "AIDA1", "AIDA2", "AIDA3"]);
    if (userId) setFieldValue(r, "aws_user_id", userId);
    const creds = pick([undefined, undefined, "admin-1", "admin-2"]);
    if (creds) setFieldValue(r, "rotation_credentials", creds);
    return { uid: `uid-${i}`, folderUid: null, revision: 1, record: r, createdAt: "", updatedAt: "" };
  });
}

test("the same answer as duplicateGroups for every record, on many random vaults (logins, UserIds, scopes)", () => {
  const rand = prng(17);
  let groupsSeen = 0;
  for (let round = 0; round < 300; round++) {
    const records = randomVault(rand, 1 + Math.floor(rand() * 14));
    const want = reference(records);
    const got = sameUserIndex(records.map((s) => userIdentity(s.uid, s.record)));
    assert.deepEqual(got, want, `round ${round}`);
    groupsSeen += want.size;
  }
  assert.ok(groupsSeen > 100, "the random vaults do hold same-user groups");
});

test("linear in distinct users: 100,000 records, three groups", () => {
  const users = Array.from({ length: 100_000 }, (_, i) => {
    const r = newRecord("pamUser", `t${i}`);
    setFieldValue(r, "login", i < 6 ? `dup-${i % 3}` : `user-${i}`);
    return userIdentity(`uid-${i}`, r);
  });
  const got = sameUserIndex(users);
  assert.equal(got.size, 6);
  assert.deepEqual(got.get("uid-0"), [{ uid: "uid-3", title: "t3" }]);
});
