/**
 * `rekey export csv` → `rekey import csv` (with and without --update): record UIDs ($record_uid), and so the
 * post-rotation scripts attached by UID (`rotationScripts.fileRef`), must survive a round trip into a fresh
 * vault. Real vaults, the real bundled CLI.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "csv-parse/sync";
import { freshHome, rekey } from "../testing/cli.js";

interface Listed {
  uid: string;
  type: string;
  title: string;
}

function ok(r: ReturnType<typeof rekey>, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** A vault with a pamUser record "alice" and a script attached to it; the CSV it exports. */
function sourceVault() {
  const a = freshHome();
  ok(
    rekey(
      [
        "record",
        "add",
        "--title",
        "alice",
        "--set",
        "login=alice",
        "--set",
        "aws_access_key_id=AKIAROUNDTRIP0000001",
      ],
      {
        env: a.env,
      },
    ),
    "record add",
  );
  const script = join(a.home, "notify.mjs");
  writeFileSync(script, 'console.log("rotated")\n');
  ok(rekey(["record", "script", "add", "alice", script, "--command", "node"], { env: a.env }), "script add");
  const records = JSON.parse(ok(rekey(["record", "list", "--json"], { env: a.env }), "list")) as Listed[];
  const csvFile = join(a.home, "export.csv");
  ok(rekey(["export", "csv", "--out", csvFile], { env: a.env }), "export");
  return { ...a, records, csvFile };
}

function listed(env: NodeJS.ProcessEnv): Listed[] {
  return JSON.parse(ok(rekey(["record", "list", "--json"], { env }), "list")) as Listed[];
}

/** The script list of alice: each attached script's file name, or "(missing)" when its file record is gone. */
function scriptFiles(env: NodeJS.ProcessEnv): string[] {
  const out = JSON.parse(
    ok(rekey(["record", "script", "list", "alice", "--json"], { env }), "script list"),
  ) as Array<Record<string, unknown>>;
  return out.map((s) => String(s.fileName ?? "(missing)"));
}

test("export csv → import csv into a fresh vault keeps record UIDs, so the attached script still resolves", (t) => {
  const a = sourceVault();
  const b = freshHome();
  t.after(() => {
    rmSync(a.home, { recursive: true, force: true });
    rmSync(b.home, { recursive: true, force: true });
  });
  ok(rekey(["import", "csv", a.csvFile], { env: b.env }), "import");
  assert.deepEqual(
    listed(b.env)
      .map((r) => r.uid)
      .sort(),
    a.records.map((r) => r.uid).sort(),
    "the imported records have the exported UIDs",
  );
  assert.deepEqual(scriptFiles(b.env), ["notify.mjs"]);
  // --update of the same file into the vault it came from changes nothing's identity: no duplicates.
  ok(rekey(["import", "csv", a.csvFile, "--update"], { env: a.env }), "import --update");
  assert.equal(listed(a.env).length, a.records.length);
});

test("the export's $record_uid: the same file again is refused without --update, updated in place with it", (t) => {
  const a = sourceVault();
  const b = freshHome();
  t.after(() => {
    rmSync(a.home, { recursive: true, force: true });
    rmSync(b.home, { recursive: true, force: true });
  });
  // Each exported row carries its record's UID (rows are in `record list` order).
  const rows = parse(readFileSync(a.csvFile, "utf8"), { relax_column_count: true }) as string[][];
  assert.equal(rows.length, a.records.length);
  rows.forEach((r, i) => {
    assert.equal(r[r.indexOf("$record_uid") + 1], a.records[i]!.uid);
  });
  const withUids = a.csvFile;

  ok(rekey(["import", "csv", withUids], { env: b.env }), "import");
  assert.deepEqual(
    listed(b.env).map((r) => r.uid),
    a.records.map((r) => r.uid),
  );
  assert.deepEqual(scriptFiles(b.env), ["notify.mjs"]);

  // Without --update the same UIDs are refused (exit 4, nothing imported); with it, updated in place.
  const again = rekey(["import", "csv", withUids], { env: b.env });
  assert.equal(again.code, 4, again.stderr);
  assert.match(again.stderr, /already exists/);
  ok(rekey(["import", "csv", withUids, "--update"], { env: b.env }), "import --update");
  assert.deepEqual(
    listed(b.env).map((r) => r.uid),
    a.records.map((r) => r.uid),
  );
  assert.deepEqual(scriptFiles(b.env), ["notify.mjs"]);
});
