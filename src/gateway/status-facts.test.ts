/**
 * `rekey status` from the listing cache's facts (status-facts.ts) against status from every record opened in
 * full: the same rows for every kind of user the status distinguishes (own, inherited, none, invalid
 * schedules; scripts-only; held, inactive and overlapping previous keys; a configuration named by title or
 * UID; the same IAM user twice), with the cache empty, then full.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { asyncVaultStore } from "../stores/sqlite/async-adapter.js";
import { tempVault } from "../testing/vault.js";
import type { AsyncVaultStore, WriteOp } from "../vault/async-store.js";
import { type ListingStats, listingPages } from "../vault/listing-cache.js";
import { newRecord, type RecordField, setFieldValue } from "../vault/record.js";
import { computeStatus, type ListedForStatus } from "./status.js";
import { STATUS_FACTS, STATUS_FACTS_VERSION, statusFacts } from "./status-facts.js";

const text = (label: string, value: string): RecordField => ({ type: "text", label, value: [value] });
const schedule = (value: unknown[]): RecordField => ({ type: "schedule", label: "rotationSchedule", value });

function user(title: string, login: string, custom: RecordField[]) {
  const r = newRecord("pamUser", title);
  setFieldValue(r, "login", login);
  setFieldValue(r, "password", "dummy");
  r.custom.push(
    text(
      "aws_access_key_id",
      `AKIA${title
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, "")
        .padEnd(16, "X")}`,
    ),
    { type: "secret", label: "aws_secret_access_key", value: ["secret-value"] },
    text("CreateDate", "2026-06-01T10:00:00.000Z"),
    ...custom,
  );
  return r;
}

async function fill(store: AsyncVaultStore): Promise<void> {
  const prod = newRecord("pamAwsConfiguration", "prod");
  setFieldValue(prod, "awsId", "123456789012");
  setFieldValue(prod, "defaultRotationSchedule", "every 90d");
  const staging = newRecord("pamAwsConfiguration", "staging");
  const [p] = (await store.commit([{ op: "createRecord", record: prod }], { actor: "t" })).created ?? [];
  const users = [
    user("own", "svc-own", [schedule(["every 30d"]), text("pam_configuration", "prod")]),
    user("inherits", "svc-inherits", [text("pam_configuration", p!.uid)]),
    user("opted out", "svc-none", [schedule([]), text("pam_configuration", "prod")]),
    user("invalid", "svc-invalid", [schedule(["every fortnight or so"])]),
    user("scripts", "svc-scripts", [
      text("rotation_mode", "scripts-only"),
      text("pam_configuration", "prod"),
    ]),
    user("held", "svc-held", [
      text("aws_previous_access_key_id", "AKIAPREVIOUSHELD0001"),
      text("aws_previous_key_since", "2026-06-01T10:00:00.000Z"),
      text("aws_previous_key_held_at", "2026-06-02T10:00:00.000Z"),
    ]),
    user("inactive", "svc-inactive", [
      text("aws_previous_access_key_id", "AKIAPREVIOUSINACT001"),
      text("aws_previous_key_since", "2026-06-01T10:00:00.000Z"),
      text("aws_previous_key_deactivated_at", "2026-06-03T10:00:00.000Z"),
      text("old_key_grace", "7d"),
    ]),
    user("overlap", "svc-overlap", [
      text("aws_previous_access_key_id", "AKIAPREVIOUSOVERLAP1"),
      text("aws_previous_key_since", "2026-06-01T10:00:00.000Z"),
      text("aws_previous_key_active_until", "2026-06-09T10:00:00.000Z"),
    ]),
    user("twin a", "SVC-Twin", [text("pam_configuration", "prod")]),
    user("twin b", "svc-twin", [text("pam_configuration", "prod")]),
    user("no date", "svc-nodate", []),
  ];
  users[10]!.custom = users[10]!.custom.filter((f) => f.label !== "CreateDate");
  const ops: WriteOp[] = users.map((record) => ({ op: "createRecord", record }));
  // A configuration listed after the users (they inherit from it only when named).
  ops.push({ op: "createRecord", record: staging });
  await store.commit(ops, { actor: "t" });
}

test("status from cached facts equals status from every record opened, with the cache empty and full", async () => {
  const v = await tempVault({ passphrase: false });
  try {
    const store = asyncVaultStore(v.store);
    await fill(store);
    const now = new Date("2026-07-01T00:00:00.000Z");
    const opened = await computeStatus(store, now);
    assert.equal(opened.length, 11);
    assert.deepEqual(
      new Set(opened.map((r) => r.scheduleSource)),
      new Set(["record", "configuration", "none", "invalid"]),
      "the fixture covers every schedule source",
    );
    assert.deepEqual(
      new Set(opened.map((r) => r.previousKeys?.phase ?? null)),
      new Set([null, "held", "inactive", "overlap"]),
      "and every previous-key phase",
    );
    assert.ok(opened.some((r) => r.mode === "scripts-only"));
    assert.ok(opened.some((r) => r.sameUserAs.length > 0));
    const dir = join(v.dir, "cache");
    for (const expect of [
      { cached: 0, opened: 13 },
      { cached: 13, opened: 0 },
    ]) {
      let stats: ListingStats | undefined;
      const records = listingPages(store, {
        dir,
        derive: STATUS_FACTS,
        onDone: (s) => {
          stats = s;
        },
      }) as AsyncGenerator<ListedForStatus[]>;
      const rows = await computeStatus(store, now, { records });
      assert.deepEqual(rows, opened);
      assert.deepEqual({ cached: stats?.cached, opened: stats?.opened }, expect);
    }
  } finally {
    v.cleanup();
  }
});

test("facts hold no secret, and survive JSON as they are", () => {
  const r = user("x", "svc-x", [schedule(["every 30d"])]);
  const facts = statusFacts(r);
  assert.equal(JSON.stringify(facts).includes("secret-value"), false);
  assert.equal(JSON.stringify(facts).includes("dummy"), false);
  assert.deepEqual(JSON.parse(JSON.stringify(facts)), JSON.parse(JSON.stringify(facts)));
});

test("what statusFacts computes is pinned to STATUS_FACTS_VERSION", () => {
  // Cached facts are only used by a rekey whose STATUS_FACTS_VERSION is the one they were written with. If
  // this expectation must change, so must STATUS_FACTS_VERSION (else old caches give old answers).
  const r = user("pinned", "SVC-Pinned", [
    schedule(["every 30d"]),
    text("pam_configuration", "prod"),
    text("aws_previous_access_key_id", "AKIAPREVIOUSPINNED01"),
    text("aws_previous_key_since", "2026-06-01T10:00:00.000Z"),
    text("aws_previous_key_held_at", "2026-06-02T10:00:00.000Z"),
  ]);
  assert.equal(STATUS_FACTS_VERSION, "status-facts.v1");
  assert.deepEqual(JSON.parse(JSON.stringify(statusFacts(r))), {
    user: "SVC-Pinned",
    keyId: "AKIAPINNEDXXXXXXXXXX",
    keyCreatedAt: "2026-06-01T10:00:00.000Z",
    scriptsOnly: false,
    previousKeys: {
      keyIds: ["AKIAPREVIOUSPINNED01"],
      phase: "held",
      since: "2026-06-02T10:00:00.000Z",
      nextStepAt: "2026-06-02T11:00:00.000Z",
    },
    identity: { login: "svc-pinned", scope: "default" },
    configurationRef: "prod",
    scheduleField: { type: "schedule", label: "rotationSchedule", value: ["every 30d"] },
  });
});
