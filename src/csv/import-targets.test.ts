import assert from "node:assert/strict";
import { test } from "node:test";
import { conflict } from "../errors.js";
import { managesIamUser, sameUserRecords } from "../rotation/same-user.js";
import { FIELD } from "../rotation/settings.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import type { CsvRecord } from "./commander-csv.js";
import { asStored, planTargets, type TargetOptions } from "./import-targets.js";

const describe = (s: StoredRecord) => `"${s.record.title}" (${s.uid})`;

/** The check as it was (each row against every earlier row and every managed record): the reference. */
function reference(existing: StoredRecord[], rows: CsvRecord[], opts: TargetOptions) {
  const configurations = [
    ...existing.filter((r) => r.record.type === "pamAwsConfiguration"),
    ...rows.filter((r) => r.record.type === "pamAwsConfiguration").map((r) => asStored(r, `line-${r.line}`)),
  ];
  const managed = existing.filter((r) => managesIamUser(r.record));
  const seen: Array<{ row: CsvRecord; stored: StoredRecord }> = [];
  return rows.map((row) => {
    if (row.uid) {
      const byUid = existing.find((r) => r.uid === row.uid);
      if (byUid) {
        if (!opts.update) {
          throw conflict(
            `line ${row.line}: a record with UID ${row.uid} already exists; nothing was imported`,
            "import with --update to update it in place, drop the $record_uid pair to import it as a new record, or edit it with rekey record edit",
          );
        }
        return byUid;
      }
    }
    if (!managesIamUser(row.record)) return undefined;
    const me = asStored(row, row.uid ?? `line-${row.line}`);
    const login = getFieldValue(row.record, FIELD.login)?.trim() ?? "";
    const twin = seen.find((s) => sameUserRecords(me, [...configurations, s.stored]).length > 0);
    if (twin) {
      throw conflict(
        `lines ${twin.row.line} and ${row.line} both manage IAM user "${login}"; nothing was imported`,
        "keep one row per IAM user: rotating one record would delete the key the other holds",
      );
    }
    seen.push({ row, stored: me });
    const same = sameUserRecords(me, [...configurations, ...managed]);
    if (same.length === 0) return undefined;
    if (!opts.update || same.length > 1) {
      throw conflict(
        `line ${row.line}: IAM user "${login}" is already managed by record ${same.map(describe).join(" and ")}; nothing was imported`,
        same.length > 1
          ? "the vault already holds several records for this user: remove the extra ones (rekey record rm), then import again"
          : "import with --update to update that record in place (its UID, history and scripts are kept), or remove the row",
      );
    }
    return same[0];
  });
}

/** A small deterministic PRNG (the same cases every run). */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** A random record: pamUser, a seed-style login template, a PAM configuration, or an unrelated login. */
function randomRecord(rand: () => number, title: string) {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const kind = pick(["pamUser", "pamUser", "pamUser", "login-template", "pamAwsConfiguration", "login"]);
  if (kind === "pamAwsConfiguration") {
    const r = newRecord("pamAwsConfiguration", pick(["cfg-a", "cfg-b", "cfg-a"]));
    const awsId = pick([undefined, "111111111111", "222222222222"]);
    if (awsId) setFieldValue(r, "awsId", awsId);
    return r;
  }
  const r = newRecord(kind === "pamUser" ? "pamUser" : "login", title);
  const login = pick(["alice", "Alice ", "bob", "carol", "", "dave"]);
  if (login || rand() < 0.5) setFieldValue(r, "login", login);
  if (kind === "login-template") setFieldValue(r, FIELD.keyId, "AKIA0000000000000000");
  const userId = pick([undefined, undefined, "AIDA1", "AIDA2", "AIDA3"]);
  if (userId) setFieldValue(r, "aws_user_id", userId);
  const creds = pick([undefined, undefined, "admin-1", "admin-2"]);
  if (creds) setFieldValue(r, "rotation_credentials", creds);
  const ref = pick([undefined, undefined, "cfg-a", "cfg-b", "uid-0", "line-2"]);
  if (ref) setFieldValue(r, FIELD.pamConfiguration, ref);
  return r;
}

function outcome(f: () => Array<StoredRecord | undefined>): unknown {
  try {
    return { targets: f().map((t) => t?.uid ?? null) };
  } catch (err) {
    return { error: (err as Error).message, hint: (err as { hint?: string }).hint };
  }
}

test("the same targets and the same refusals as the pairwise check, on many random imports", () => {
  const rand = prng(42);
  const seen = { refused: 0, updated: 0, created: 0 };
  for (let round = 0; round < 2000; round++) {
    const existing: StoredRecord[] = Array.from({ length: Math.floor(rand() * 8) }, (_, i) => ({
      uid: `uid-${i}`,
      folderUid: null,
      revision: 1,
      record: randomRecord(rand, `e${i}`),
      createdAt: "",
      updatedAt: "",
    }));
    const rows: CsvRecord[] = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => {
      const uid = rand() < 0.2 ? `uid-${Math.floor(rand() * 10)}` : undefined;
      return {
        line: i + 1,
        record: randomRecord(rand, `r${i}`),
        folderPath: [],
        notices: [],
        ...(uid ? { uid } : {}),
      };
    });
    const opts = { update: rand() < 0.5 };
    const want = outcome(() => reference(existing, rows, opts));
    const got = outcome(() => planTargets(existing, rows, opts));
    assert.deepEqual(got, want, `round ${round}`);
    if ("error" in (want as object)) seen.refused++;
    else if ((want as { targets: unknown[] }).targets.some((t) => t !== null)) seen.updated++;
    else seen.created++;
  }
  // The random imports do reach every outcome.
  assert.ok(seen.refused > 100 && seen.updated > 100 && seen.created > 100, JSON.stringify(seen));
});

test("100,000 rows into a vault of 100,000 users: one twin found, the others new", () => {
  const user = (login: string) => {
    const r = newRecord("pamUser", login);
    setFieldValue(r, "login", login);
    return r;
  };
  const existing: StoredRecord[] = Array.from({ length: 100_000 }, (_, i) => ({
    uid: `uid-${i}`,
    folderUid: null,
    revision: 1,
    record: user(`old-${i}`),
    createdAt: "",
    updatedAt: "",
  }));
  const rows: CsvRecord[] = Array.from({ length: 100_000 }, (_, i) => ({
    line: i + 1,
    record: user(i === 99_999 ? "OLD-5" : `new-${i}`),
    folderPath: [],
    notices: [],
  }));
  const targets = planTargets(existing, rows, { update: true });
  assert.equal(targets.filter(Boolean).length, 1);
  assert.equal(targets[99_999]?.uid, "uid-5");
  assert.throws(
    () => planTargets(existing, rows),
    /line 100000: IAM user "OLD-5" is already managed by record "old-5" \(uid-5\)/,
  );
});
