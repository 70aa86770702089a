/**
 * `rekey status` and `rekey record list` over more than one page of records (the real CLI, a real vault):
 * streamed output byte-identical to printing the whole array, a PAM configuration listed after the users
 * it applies to, a same-IAM-user pair, no progress line anywhere when stderr is not a terminal, and the line
 * on a pseudo-terminal.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BIN, freshHome, rekeyAsync } from "../testing/cli.js";
import { RECORD_PAGE } from "../vault/async-store.js";

const N = RECORD_PAGE + 150;

test("status and record list over two pages: whole-array JSON bytes, late configuration, same-user pair, silent stderr", async () => {
  const { home, env } = freshHome();
  const ok = async (args: string[], input = "") => {
    const r = await rekeyAsync(args, { env, input });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  const csv = join(home, "users.csv");
  const rows = Array.from({ length: N }, (_, i) => {
    const n = String(i).padStart(5, "0");
    return `,user-${n},svc-${n},dummy-password,,,,$type,pamUser,aws_access_key_id,AKIASTREAM${n.padStart(10, "0")}`;
  });
  writeFileSync(csv, `${rows.join("\n")}\n`);
  const imported = await ok(["import", "csv", csv]);
  assert.equal(imported.stderr, "", "no progress line on a non-terminal");
  // A second record for svc-00007 (record add does not refuse it: status must show the pair).
  await ok(["record", "add", "--type", "pamUser", "--title", "twin", "--set", "login=svc-00007"]);
  // The configuration comes last in the listing: every user inherits its default schedule all the same.
  await ok([
    "record",
    "add",
    "--type",
    "pamAwsConfiguration",
    "--title",
    "prod",
    "--set",
    "awsId=123456789012",
  ]);
  await ok(["record", "schedule", "prod", "every 90d"]);

  const status = await ok(["status", "--json"]);
  assert.equal(status.stderr, "");
  const rows2 = JSON.parse(status.stdout) as Array<{
    title: string;
    scheduleSource: string;
    nextRotation: string | null;
    sameUserAs: Array<{ title: string }>;
  }>;
  assert.equal(status.stdout, `${JSON.stringify(rows2, null, 2)}\n`, "the bytes printJson writes");
  assert.equal(rows2.length, N + 1);
  assert.deepEqual(
    rows2.map((r) => r.title),
    [...rows.map((_, i) => `user-${String(i).padStart(5, "0")}`), "twin"],
    "listing order",
  );
  assert.ok(rows2.every((r) => r.scheduleSource === "configuration" && r.nextRotation !== null));
  const twins = rows2.filter((r) => r.sameUserAs.length > 0);
  assert.deepEqual(
    twins.map((r) => [r.title, r.sameUserAs.map((o) => o.title)]),
    [
      ["user-00007", ["twin"]],
      ["twin", ["user-00007"]],
    ],
  );

  const table = await ok(["status"]);
  assert.equal(table.stderr, "");
  const lines = table.stdout.trimEnd().split("\n");
  assert.equal(lines.length, N + 2);
  assert.match(lines[0]!, /^RECORD\s+USER\s+KEY\s+AGE\s+SCHEDULE/);
  assert.match(lines.at(-1)!, /^twin\s+svc-00007 .*SAME IAM USER as "user-00007"/);

  const list = await ok(["record", "list", "--json"]);
  assert.equal(list.stderr, "");
  const listed = JSON.parse(list.stdout) as Array<{ type: string; title: string }>;
  assert.equal(list.stdout, `${JSON.stringify(listed, null, 2)}\n`);
  assert.equal(listed.length, N + 2);
  assert.deepEqual(listed.at(-1), { ...listed.at(-1), type: "pamAwsConfiguration", title: "prod" });
  const users = await ok(["record", "list", "--type", "pamUser"]);
  assert.equal(users.stdout.trimEnd().split("\n").length, N + 2, "header and every pamUser");
  assert.equal(`${(await ok(["record", "list", "--type", "nothing", "--json"])).stdout}`, "[]\n");

  // On a terminal (a pseudo-terminal from script(1), where present): the progress line, erased before the table.
  if (spawnSync("script", ["--version"]).status !== 0) return;
  const onTerminal = (args: string) =>
    spawnSync("script", ["-qc", `${process.execPath} ${BIN} ${args}`, "/dev/null"], {
      env: { ...process.env, ...env, REKEY_LOG_LEVEL: "silent", REKEY_PROGRESS_DELAY_MS: "0", TERM: "xterm" },
      encoding: "utf8",
      timeout: 60_000,
    }).stdout;
  const shown = onTerminal("status");
  const erase = "\r\u001b[2K";
  assert.ok(shown.includes(`${erase}status: reading the vault: `), JSON.stringify(shown.slice(0, 200)));
  const tableAt = shown.indexOf("RECORD");
  assert.ok(tableAt > shown.lastIndexOf(erase), "the line is erased before the table is written");
  assert.ok(!onTerminal("status --json").includes(erase), "no line between JSON rows on the same terminal");
});
