/** discover's pure decisions: which record manages an IAM user, the titles and fields --import writes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSchedule } from "../gateway/schedule.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { adoptionRecord, importTitle, managingRecords } from "./discover-view.js";

const ACCOUNT = "111111111111";
let n = 0;
function stored(type: string, fields: Record<string, string>): StoredRecord {
  const r = newRecord(type, `r${++n}`);
  for (const [k, v] of Object.entries(fields)) setFieldValue(r, k, v);
  return { uid: `uid-${n}`, folderUid: null, revision: 1, record: r, createdAt: "", updatedAt: "" };
}
const alice = { userName: "Alice", userId: "AIDAALICE0000000001" };

test("managingRecords: the identity rule of same-user.ts, scoped to the admin's account", () => {
  const cases: Array<{ name: string; records: StoredRecord[]; want: number; note?: boolean }> = [
    { name: "same login, other case, no scope", records: [stored("pamUser", { login: "alice" })], want: 1 },
    { name: "other login", records: [stored("pamUser", { login: "bob" })], want: 0 },
    {
      name: "scope named by rotation_credentials cannot be told apart: managed",
      records: [stored("pamUser", { login: "ALICE", rotation_credentials: "admin" })],
      want: 1,
    },
    {
      name: "configuration of this account",
      records: [stored("pamAwsConfiguration", { awsId: ACCOUNT }), stored("pamUser", { login: "alice" })],
      want: 1,
    },
    {
      name: "configuration of another account: not this user",
      records: [
        stored("pamAwsConfiguration", { awsId: "222222222222" }),
        stored("pamUser", { login: "alice" }),
      ],
      want: 0,
    },
    {
      name: "same UserId, renamed login",
      records: [stored("pamUser", { login: "alice-old", aws_user_id: alice.userId })],
      want: 1,
    },
    {
      name: "same login, another UserId: listed with a note (re-created user)",
      records: [stored("pamUser", { login: "alice", aws_user_id: "AIDAOTHER0000000009" })],
      want: 1,
      note: true,
    },
    {
      name: "a login record without key fields manages nothing",
      records: [stored("login", { login: "alice" })],
      want: 0,
    },
  ];
  for (const c of cases) {
    const got = managingRecords(alice, c.records, ACCOUNT);
    assert.equal(got.length, c.want, c.name);
    if (c.want > 0) assert.equal(got[0]?.note !== undefined, c.note === true, `${c.name}: note`);
  }
});

test("importTitle: plain, then the account, then a counter; never a title already taken", () => {
  const taken = new Set(["alice (AWS)"]);
  assert.equal(importTitle("bob", ACCOUNT, taken), "bob (AWS)");
  assert.equal(importTitle("alice", ACCOUNT, taken), `alice (AWS) [${ACCOUNT}]`);
  assert.equal(importTitle("alice", ACCOUNT, taken), `alice (AWS) [${ACCOUNT}] (2)`);
  assert.equal(importTitle("alice", ACCOUNT, taken), `alice (AWS) [${ACCOUNT}] (3)`);
  assert.ok(taken.has("bob (AWS)"));
});

test("adoptionRecord: login, adopt_existing_keys, region, credentials, schedule; no key, no secret", () => {
  const r = adoptionRecord(
    { userName: "ci-bot" },
    {
      title: "ci-bot (AWS)",
      region: "eu-west-1",
      credentials: "admin",
      schedule: parseSchedule("every 30d"),
    },
  );
  assert.equal(r.type, "pamUser");
  assert.equal(getFieldValue(r, "login"), "ci-bot");
  assert.equal(getFieldValue(r, "adopt_existing_keys"), "True");
  assert.equal(getFieldValue(r, "aws_region"), "eu-west-1");
  assert.equal(getFieldValue(r, "rotation_credentials"), "admin");
  assert.ok(
    r.custom.some((f) => f.type === "schedule" && f.label === "rotationSchedule" && f.value.length === 1),
  );
  assert.equal(getFieldValue(r, "aws_access_key_id"), undefined);
  assert.equal(getFieldValue(r, "aws_secret_access_key"), undefined);
  assert.equal(getFieldValue(r, "password"), "");
  const bare = adoptionRecord({ userName: "x" }, { title: "x (AWS)" });
  assert.equal(getFieldValue(bare, "aws_region"), undefined);
  assert.equal(getFieldValue(bare, "rotation_credentials"), undefined);
  assert.equal(getFieldValue(bare, "rotationSchedule"), undefined);
});
