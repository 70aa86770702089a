/**
 * `rekey rotate --all | --folder | --older-than | --due` as a user runs it: the real bundled CLI in child
 * processes, against the sandbox served by this test process, on a real vault.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { BIN, freshHome, rekeyAsync, spawnNode, type TestKey } from "../testing/cli.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

const endpoint = () => ["--endpoint-url", sandbox.endpoint];
const keyIds = (name: string) => sandbox.admin.listKeys(name).map((k) => k.accessKeyId);

interface Row {
  recordUid: string;
  recordTitle: string;
  user: string;
  outcome: string;
  newKeyId: string | null;
  error: { message: string; kind: string } | null;
  exitCode: number;
}

/** A vault with the admin credential record; `user()` adds an IAM user and its pamUser record. */
async function vault() {
  const { env: base } = freshHome();
  const env = { ...base, AWS_EC2_METADATA_DISABLED: "true" };
  const run = async (args: string[], input = "") => {
    const r = await rekeyAsync(args, { env, input });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  const root = sandbox.root as TestKey;
  await run(
    [
      "record",
      "add",
      "--type",
      "login",
      "--title",
      "admin",
      "--set",
      `aws_access_key_id=${root.accessKeyId}`,
      "--secret",
      "aws_secret_access_key",
    ],
    `${root.secretAccessKey}\n`,
  );
  const user = async (name: string, o: { folder?: string; createDate?: Date } = {}) => {
    sandbox.admin.createUser(name);
    const key = sandbox.admin.createAccessKey(name, o.createDate ? { createDate: o.createDate } : {});
    const extra = [
      ...(o.folder ? ["--folder", o.folder] : []),
      ...(o.createDate ? ["--set", `CreateDate=${o.createDate.toISOString()}`] : []),
    ];
    await run(
      [
        "record",
        "add",
        "--title",
        name,
        "--set",
        `login=${name}`,
        "--set",
        `aws_access_key_id=${key.accessKeyId}`,
        "--set",
        "rotation_credentials=admin",
        "--secret",
        "aws_secret_access_key",
        ...extra,
      ],
      `${key.secretAccessKey}\n`,
    );
    return key.accessKeyId;
  };
  const vaultKey = async (name: string) =>
    (await run(["record", "get", name, "aws_access_key_id"])).stdout.trim();
  const rotate = (args: string[]) => rekeyAsync(["rotate", ...args, ...endpoint()], { env });
  return { env, run, user, vaultKey, rotate };
}

/** The summary table's rows (after the header), as cells split on runs of two or more spaces. */
function summaryRows(stdout: string): string[][] {
  const lines = stdout.trimEnd().split("\n");
  const head = lines.findIndex((l) => /^RECORD\s+IAM USER\s+OUTCOME\s+NEW KEY\s+ERROR$/.test(l));
  assert.ok(head >= 0, `a summary table in:\n${stdout}`);
  return lines.slice(head + 1, -1).map((l) => l.split(/\s{2,}/));
}

test("--all --concurrency 2 rotates every managed record: new keys in IAM and the vault, a summary row each, history", async () => {
  const v = await vault();
  const names = ["fa-1", "fa-2", "fa-3", "fa-4", "fa-5"];
  const first = new Map<string, string>();
  for (const n of names) first.set(n, await v.user(n));

  // --dry-run: a plan per record, a summary of "planned", nothing changed.
  const dry = await v.rotate(["--all", "--dry-run", "--concurrency", "2"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout.match(/plan \(dry run, nothing changed\)/g)?.length, 5);
  assert.deepEqual(
    summaryRows(dry.stdout).map((r) => [r[0], r[2]]),
    names.map((n) => [n, "planned"]),
  );
  for (const n of names) {
    assert.deepEqual(keyIds(n), [first.get(n)], `dry run left ${n} alone in IAM`);
    assert.equal(await v.vaultKey(n), first.get(n), `dry run left ${n} alone in the vault`);
  }
  assert.equal(JSON.parse((await v.run(["history", "--json"])).stdout).length, 0, "no history for a dry run");

  const r = await v.rotate(["--all", "--concurrency", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!/rotating \d+\/\d+/.test(r.stderr), "no progress line on a non-terminal");
  const rows = summaryRows(r.stdout);
  assert.deepEqual(
    rows.map((row) => row.slice(0, 3)),
    names.map((n) => [n, n, "succeeded"]),
  );
  for (const [i, n] of names.entries()) {
    const iam = keyIds(n);
    assert.equal(iam.length, 1, `${n}: one key in IAM`);
    assert.notEqual(iam[0], first.get(n), `${n} was rotated`);
    assert.equal(await v.vaultKey(n), iam[0], `${n}: the vault holds IAM's key`);
    assert.equal(rows[i]?.[3], iam[0], `${n}: the summary shows the new key id`);
  }
  assert.match(r.stdout, /^5 record\(s\): 5 succeeded$/m);
  const history = JSON.parse((await v.run(["history", "--json"])).stdout) as Array<{
    recordTitle: string;
    trigger: string;
    outcome: string;
  }>;
  assert.deepEqual(
    history.map((e) => [e.recordTitle, e.trigger, e.outcome]).sort(),
    names.map((n) => [n, "manual", "succeeded"]),
  );

  // --json: one array of per-record results; the admin credential record is not among them.
  const json = await v.rotate(["--all", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const results = JSON.parse(json.stdout) as Row[];
  assert.deepEqual(
    results.map((x) => [x.recordTitle, x.outcome, x.exitCode]),
    names.map((n) => [n, "succeeded", 0]),
  );
  for (const x of results) assert.deepEqual(keyIds(x.user), [x.newKeyId]);
});

test("--folder: only the records in the folder (and its sub-folders) are rotated", async () => {
  const v = await vault();
  await v.run(["folder", "add", "prod"]);
  await v.run(["folder", "add", "db", "--parent", "prod"]);
  await v.run(["folder", "add", "dev"]);
  const p1 = await v.user("ff-prod-1", { folder: "prod" });
  const p2 = await v.user("ff-prod-db", { folder: "db" });
  const d1 = await v.user("ff-dev", { folder: "dev" });
  const root = await v.user("ff-root");

  const r = await v.rotate(["--folder", "prod"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    summaryRows(r.stdout).map((row) => [row[0], row[2]]),
    [
      ["ff-prod-1", "succeeded"],
      ["ff-prod-db", "succeeded"],
    ],
  );
  assert.notDeepEqual(keyIds("ff-prod-1"), [p1]);
  assert.notDeepEqual(keyIds("ff-prod-db"), [p2]);
  assert.deepEqual(keyIds("ff-dev"), [d1], "another folder: untouched");
  assert.deepEqual(keyIds("ff-root"), [root], "the root: untouched");

  const none = await v.rotate(["--folder", "nope"]);
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /no folder with UID or name "nope"/);
});

test("--older-than 90d: a key older than that, or undated, is rotated; a freshly rotated one is not selected", async () => {
  const v = await vault();
  const old = await v.user("fo-old", { createDate: new Date(Date.now() - 120 * 86_400_000) });
  const undated = await v.user("fo-undated");
  await v.user("fo-fresh");
  await v.run(["rotate", "fo-fresh", ...endpoint()]);
  const fresh = keyIds("fo-fresh");

  const r = await v.rotate(["--older-than", "90d"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    summaryRows(r.stdout).map((row) => row[0]),
    ["fo-old", "fo-undated"],
  );
  assert.notDeepEqual(keyIds("fo-old"), [old]);
  assert.notDeepEqual(keyIds("fo-undated"), [undated]);
  assert.deepEqual(keyIds("fo-fresh"), fresh, "the fresh key stays");

  // Now every key is minutes old: nothing matches, exit 0.
  const again = await v.rotate(["--older-than", "90d"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /no record matches: records with a key older than 90d \(or none\); nothing was rotated/,
  );
});

test("--due: exactly what `rekey status` shows as due now (every 1h, never rotated: due; just rotated: not)", async () => {
  const v = await vault();
  const never = await v.user("fd-never");
  await v.user("fd-just");
  const unscheduled = await v.user("fd-unscheduled");
  await v.run(["record", "schedule", "fd-never", "every 1h"]);
  await v.run(["record", "schedule", "fd-just", "every 1h"]);
  await v.run(["rotate", "fd-just", ...endpoint()]);
  const just = keyIds("fd-just");

  const status = JSON.parse((await v.run(["status", "--json"])).stdout) as Array<{
    title: string;
    nextRotation: string | null;
  }>;
  const dueInStatus = status
    .filter((s) => s.nextRotation !== null && Date.parse(s.nextRotation) <= Date.now())
    .map((s) => s.title);
  assert.deepEqual(dueInStatus, ["fd-never"]);

  const r = await v.rotate(["--due", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout) as Row[];
  assert.deepEqual(
    results.map((x) => [x.recordTitle, x.outcome]),
    [["fd-never", "succeeded"]],
  );
  assert.notDeepEqual(keyIds("fd-never"), [never]);
  assert.deepEqual(keyIds("fd-just"), just);
  assert.deepEqual(keyIds("fd-unscheduled"), [unscheduled]);

  // Rotated: no longer due; --due --all is the same selection.
  const again = await v.rotate(["--due", "--all", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout), []);
});

test("one record failing (its IAM user deleted): the others are rotated, the summary shows the failure, the exit code is the single rotation's", async () => {
  const v = await vault();
  const a = await v.user("fx-a");
  const goneKey = await v.user("fx-gone");
  const c = await v.user("fx-c");
  sandbox.admin.deleteAccessKey("fx-gone", goneKey);
  sandbox.admin.deleteUser("fx-gone");

  const r = await v.rotate(["--all", "--concurrency", "2"]);
  const rows = summaryRows(r.stdout);
  assert.deepEqual(
    rows.map((row) => [row[0], row[2]]),
    [
      ["fx-a", "succeeded"],
      ["fx-c", "succeeded"],
      ["fx-gone", "failed"],
    ],
  );
  assert.ok((rows[2]?.[3] ?? "").length > 0, "the failed row has an error");
  assert.notDeepEqual(keyIds("fx-a"), [a]);
  assert.notDeepEqual(keyIds("fx-c"), [c]);
  assert.equal(await v.vaultKey("fx-a"), keyIds("fx-a")[0]);
  assert.match(r.stdout, /^3 record\(s\): 2 succeeded, 1 failed$/m);
  assert.match(r.stderr, /1 of 3 record\(s\) did not succeed; the exit code is that of "fx-gone"/);

  const single = await v.rotate(["fx-gone"]);
  assert.notEqual(single.code, 0);
  assert.equal(r.code, single.code, `the fleet exits as \`rekey rotate fx-gone\` does: ${single.stderr}`);

  const json = await v.rotate(["--all", "--json"]);
  assert.equal(json.code, single.code);
  const gone = (JSON.parse(json.stdout) as Row[]).find((x) => x.recordTitle === "fx-gone");
  assert.equal(gone?.outcome, "failed");
  assert.equal(gone?.exitCode, single.code);
  assert.ok(gone?.error?.message, "the error's message is in the JSON");
});

test("usage errors: a record with a selector, neither, a bad --concurrency: exit 2, nothing rotated", async () => {
  const v = await vault();
  const k = await v.user("fu-1");
  const cases: Array<[string[], RegExp]> = [
    [["fu-1", "--all"], /give one record or a selection \(--all\), not both/],
    [["fu-1", "--folder", "prod", "--due"], /not both/],
    [[], /which records\?[\s\S]*--all, --folder <folder>, --older-than <age> or --due/],
    [["--all", "--concurrency", "0"], /--concurrency 0 is not a positive whole number/],
    [["--all", "--concurrency", "two"], /--concurrency two is not a positive whole number/],
    [["--older-than", "ninety"], /--older-than: "ninety" is not a duration/],
  ];
  for (const [args, message] of cases) {
    const r = await v.rotate(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.deepEqual(keyIds("fu-1"), [k]);
});

test("Ctrl-C: running rotations finish or undo their step, the rest are not started; summary, exit 130", async () => {
  const v = await vault();
  const names = ["fc-1", "fc-2", "fc-3"];
  const first = new Map<string, string>();
  for (const n of names) first.set(n, await v.user(n));
  // Verification waits on IAM's propagation delay: time to press Ctrl-C after the first create.
  sandbox.knobs.set({ propagationDelayMs: 30_000 });
  let out = { stdout: "", stderr: "" };
  try {
    const p = spawnNode(
      [BIN, "rotate", "--all", "--concurrency", "1", "--verify", "--verify-timeout", "60", ...endpoint()],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...v.env, REKEY_LOG_LEVEL: "silent" },
        timeoutMs: 60_000,
      },
    );
    for (let i = 0; i < 400 && keyIds("fc-1").length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(keyIds("fc-1").length, 2, "the first rotation created its key");
    p.child.kill("SIGINT");
    const { code } = await p.exited;
    out = p.output();
    assert.equal(code, 130, out.stderr);
  } finally {
    sandbox.knobs.set({ propagationDelayMs: 0 });
  }
  assert.match(out.stderr, /no new rotation starts; the running ones finish or undo their step in flight/);
  assert.deepEqual(
    summaryRows(out.stdout).map((row) => [row[0], row[2]]),
    [
      ["fc-1", "failed"],
      ["fc-2", "not started"],
      ["fc-3", "not started"],
    ],
  );
  assert.match(out.stderr, /interrupted: 2 of 3 record\(s\) not started/);
  for (const n of names) {
    assert.deepEqual(keyIds(n), [first.get(n)], `${n}: IAM as before (the new key deleted again)`);
    assert.equal(await v.vaultKey(n), first.get(n));
  }
});

/** `rekey ARGS` on a pseudo-terminal (util-linux `script`): stdout and stderr are one TTY stream. */
async function onTerminal(args: string[], env: NodeJS.ProcessEnv) {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, REKEY_LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    output += d;
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("close", (c) => res(c));
  });
  return { code, output };
}

const hasScript = spawnSync("script", ["--version"]).status === 0;

test("on a terminal: one progress line on stderr, rewritten in place and erased before the summary; none with --json", {
  skip: hasScript ? false : "util-linux `script` (a pseudo-terminal) is not installed",
}, async () => {
  const v = await vault();
  await v.user("ft-1");
  await v.user("ft-2");
  const r = await onTerminal(["rotate", "--all", "--concurrency", "1", ...endpoint()], {
    ...v.env,
    REKEY_PROGRESS_DELAY_MS: "0",
  });
  assert.equal(r.code, 0, r.output);
  const erase = "\r\x1b[2K";
  const updates = r.output
    .split(erase)
    .filter((part) => part.startsWith("rotating"))
    .map((part) => part.split(/[\r\n]/)[0]);
  // Drawn at most ten times a second: the first state at least, each one a whole line.
  assert.ok(updates.length >= 1, r.output);
  for (const u of updates)
    assert.match(u!, /^rotating: [12] \/ 2 records \(\d+%\), \d ok, 0 failed, [01] running, \d+s$/);
  assert.ok(r.output.includes(`${erase}RECORD`), "the line is erased, then the summary");
  const json = await onTerminal(["rotate", "--all", "--json", ...endpoint()], v.env);
  assert.equal(json.code, 0, json.output);
  assert.ok(!json.output.includes("rotating:"), "no progress line with --json");
});
