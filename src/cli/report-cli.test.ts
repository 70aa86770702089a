/**
 * `rekey report` as a user runs it: the bundled CLI in child processes, a real vault, the real AWS SDK
 * against the sandbox. Each test keeps to its own IAM path (/r1/, /r2/...).
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "csv-parse/sync";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, freshHome, rekey, rekeyAsync } from "../testing/cli.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

const DAY = 86_400_000;
const common = () => ["--credentials", "admin", "--endpoint-url", sandbox.endpoint];

async function vault() {
  const { home, env } = freshHome();
  const full = { ...env, AWS_EC2_METADATA_DISABLED: "true" };
  await addKeyRecords(full, "admin", sandbox.root);
  return { home, env: full };
}

test("report: json verdicts, managed users, a 0600 --out file, csv and html; exit 9 only with --fail-on-violation", async () => {
  const { home, env } = await vault();
  sandbox.admin.createUser("r1-old", { path: "/r1/" });
  const old = sandbox.admin.createAccessKey("r1-old", { createDate: new Date(Date.now() - 120 * DAY) });
  const inactive = sandbox.admin.createAccessKey("r1-old", { createDate: new Date(Date.now() - 200 * DAY) });
  sandbox.admin.updateAccessKey("r1-old", inactive.accessKeyId, "Inactive");
  sandbox.admin.createUser("r1-fresh", { path: "/r1/" });
  const fresh = sandbox.admin.createAccessKey("r1-fresh");
  const add = rekey(["record", "add", "--title", "fresh (AWS)", "--set", "login=r1-fresh"], { env });
  assert.equal(add.code, 0, add.stderr);

  const r = await rekeyAsync(["report", "--format", "json", "--path-prefix", "/r1/", ...common()], { env });
  assert.equal(r.code, 0, `violations without --fail-on-violation still exit 0: ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  assert.equal(j.maxAgeDays, 90);
  assert.match(j.account, /^\d{12}$/);
  assert.deepEqual(
    {
      users: j.summary.users,
      keys: j.summary.keys,
      violations: j.summary.violations,
      unused: j.summary.unusedKeys,
    },
    { users: 2, keys: 3, violations: 1, unused: 2 },
  );
  const by = new Map<string, { managed: boolean; keys: Array<{ accessKeyId: string; cis114: string }> }>(
    j.users.map((u: { userName: string }) => [u.userName, u]),
  );
  assert.equal(by.get("r1-fresh")?.managed, true);
  assert.equal(by.get("r1-old")?.managed, false);
  const verdicts = Object.fromEntries(by.get("r1-old")!.keys.map((k) => [k.accessKeyId, k.cis114]));
  assert.deepEqual(verdicts, { [old.accessKeyId]: "violation", [inactive.accessKeyId]: "inactive" });

  const gate = await rekeyAsync(["report", "--path-prefix", "/r1/", "--fail-on-violation", ...common()], {
    env,
  });
  assert.equal(gate.code, 9, gate.stderr);
  assert.match(gate.stderr, /1 active access key\(s\) .* older than 90 days \(CIS AWS Foundations 1\.14\)/);
  assert.match(gate.stdout, new RegExp(`${old.accessKeyId} +Active +120d +never .*VIOLATION`));

  const relaxed = await rekeyAsync(
    [
      "report",
      "--path-prefix",
      "/r1/",
      "--max-age",
      "200d",
      "--fail-on-violation",
      "--format",
      "csv",
      ...common(),
    ],
    { env },
  );
  assert.equal(relaxed.code, 0, relaxed.stderr);
  const rows = parse(relaxed.stdout) as string[][];
  assert.equal(rows.length, 4, "a header and one row per key");

  const file = join(home, "report.html");
  const html = await rekeyAsync(
    ["report", "--path-prefix", "/r1/", "--format", "html", "--out", file, ...common()],
    {
      env,
    },
  );
  assert.equal(html.code, 0, html.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const page = readFileSync(file, "utf8");
  assert.match(page, /^<!DOCTYPE html>/);
  assert.ok(page.includes(old.accessKeyId));
  const again = await rekeyAsync(["report", "--path-prefix", "/r1/", "--out", file, ...common()], { env });
  assert.equal(again.code, 4, "an existing --out file is not overwritten");

  for (const out of [r.stdout, gate.stdout, gate.stderr, relaxed.stdout, page])
    for (const s of [
      sandbox.root.secretAccessKey,
      old.secretAccessKey,
      fresh.secretAccessKey,
      inactive.secretAccessKey,
    ])
      assert.ok(!out.includes(s), "no secret in the report");
});

test("report: a bad option is refused before the vault opens (exit 2)", async () => {
  const { env } = await vault();
  const f = await rekeyAsync(["report", "--format", "pdf", ...common()], { env });
  assert.equal(f.code, 2);
  assert.match(f.stderr, /table, json, csv, html/);
  const a = await rekeyAsync(["report", "--max-age", "ninety", ...common()], { env });
  assert.equal(a.code, 2);
});
