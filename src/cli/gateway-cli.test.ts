/**
 * The gateway's record commands as a user runs them (the real bundled CLI): schedules, scripts,
 * history and status. The gateway against IAM is in src/gateway/gateway-process.test.ts.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freshHome, rekey } from "../testing/cli.js";
import { vaultBytes } from "../testing/vault.js";

function ok(r: { code: number; stderr: string; stdout: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

function scheduleField(env: NodeJS.ProcessEnv, title: string, label = "rotationSchedule") {
  const shown = JSON.parse(ok(rekey(["record", "show", title, "--json"], { env }), "show").stdout);
  return [...shown.fields, ...shown.custom].find((f: { label?: string }) => f.label === label);
}

test("record schedule: every, cron with --tz, Keeper JSON, none, a configuration default, inherit", () => {
  const { env } = freshHome();
  ok(rekey(["record", "add", "--title", "alice", "--set", "login=alice"], { env }), "add");
  ok(rekey(["record", "add", "--type", "pamAwsConfiguration", "--title", "prod"], { env }), "add cfg");

  const every = ok(rekey(["record", "schedule", "alice", "every 12h"], { env }), "every");
  assert.match(every.stdout, /schedule of "alice" \(.{22}\): every 12h/);
  assert.match(every.stdout, /next rotation: due now/, "never rotated");
  assert.deepEqual(scheduleField(env, "alice"), {
    type: "schedule",
    label: "rotationSchedule",
    value: [{ type: "INTERVAL", every: "12h" }],
  });

  const cron = JSON.parse(
    ok(
      rekey(["record", "schedule", "alice", "30 2 * * MON-FRI", "--tz", "Europe/Paris", "--json"], { env }),
      "cron",
    ).stdout,
  );
  assert.equal(cron.schedule[0].type, "CRON");
  assert.equal(cron.schedule[0].tz, "Europe/Paris");
  assert.match(cron.description, /cron ".*MON-FRI" in Europe\/Paris/);

  const weekly = '{"type":"WEEKLY","weekday":"SUNDAY","time":"03:00:00","tz":"Etc/UTC"}';
  assert.match(ok(rekey(["record", "schedule", "alice", weekly], { env }), "weekly").stdout, /WEEKLY/);

  ok(rekey(["record", "schedule", "alice", "none"], { env }), "none");
  assert.deepEqual(scheduleField(env, "alice").value, []);

  // The configuration's default applies to users that have no schedule of their own.
  const cfg = ok(rekey(["record", "schedule", "prod", "every 1d"], { env }), "default");
  assert.match(cfg.stdout, /default schedule of "prod"/);
  assert.deepEqual(scheduleField(env, "prod", "defaultRotationSchedule").value, [
    { type: "INTERVAL", every: "1d" },
  ]);
  let status = JSON.parse(ok(rekey(["status", "--json"], { env }), "status").stdout);
  assert.deepEqual([status[0].schedule, status[0].scheduleSource], ["on demand only", "record"]);
  assert.match(
    ok(rekey(["record", "schedule", "alice", "inherit"], { env }), "inherit").stdout,
    /inherits: every 1d/,
  );
  status = JSON.parse(ok(rekey(["status", "--json"], { env }), "status").stdout);
  assert.deepEqual([status[0].schedule, status[0].scheduleSource], ["every 1d", "configuration"]);

  const bad = rekey(["record", "schedule", "alice", "every banana"], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /fix: .*every 12h/);
  assert.equal(rekey(["record", "schedule", "nobody", "every 1d"], { env }).code, 3);
});

test("record script add/list/rm: scripts live in the vault, encrypted, in Keeper's rotationScripts shape", () => {
  const { home, env } = freshHome();
  ok(rekey(["record", "add", "--title", "bob", "--set", "login=bob"], { env }), "add");
  ok(rekey(["record", "add", "--type", "login", "--title", "bob admin"], { env }), "add admin");
  const file = join(home, "notify-team.mjs");
  writeFileSync(file, "console.log('SCRIPTMARKER-7f3a: rotated');\n");
  const added = JSON.parse(
    ok(
      rekey(
        ["record", "script", "add", "bob", file, "--command", "node", "--attach", "bob admin", "--json"],
        { env },
      ),
      "add",
    ).stdout,
  );
  assert.equal(added.position, 1);
  assert.equal(added.command, "node");
  const second = ok(rekey(["record", "script", "add", "bob", file, "--command", "node"], { env }), "add 2");
  assert.match(second.stdout, /as #2: node notify-team\.mjs/);

  const list = JSON.parse(ok(rekey(["record", "script", "list", "bob", "--json"], { env }), "list").stdout);
  assert.deepEqual(
    list.map((s: { position: number; fileName: string; recordRef: Array<{ title: string }> }) => [
      s.position,
      s.fileName,
      s.recordRef.map((r) => r.title),
    ]),
    [
      [1, "notify-team.mjs", ["bob admin"]],
      [2, "notify-team.mjs", []],
    ],
  );
  const shown = JSON.parse(ok(rekey(["record", "show", "bob", "--json"], { env }), "show").stdout);
  const field = [...shown.fields, ...shown.custom].find(
    (f: { label?: string }) => f.label === "rotationScripts",
  );
  assert.equal(field.type, "script");
  assert.deepEqual(Object.keys(field.value[0]).sort(), ["command", "fileRef", "recordRef"]);
  assert.equal(
    vaultBytes(join(home, "vault.db")).indexOf("SCRIPTMARKER-7f3a"),
    -1,
    "script content encrypted",
  );

  const rm = ok(rekey(["record", "script", "rm", "bob", "1"], { env }), "rm");
  assert.match(rm.stdout, /removed script .* its file record was deleted/);
  ok(
    rekey(["record", "script", "rm", "bob", list[1].fileRef], {
      env,
    }),
    "rm 2",
  );
  assert.match(
    ok(rekey(["record", "script", "list", "bob"], { env }), "list").stdout,
    /has no post-rotation script/,
  );
  const missing = rekey(["record", "script", "rm", "bob", "1"], { env });
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /has no script "1"/);
  const noCommand = rekey(["record", "script", "add", "bob", file], { env });
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.stderr, /--command is required/);
});

test("history and status after a scripts-only gateway run (no AWS involved)", () => {
  const { home, env } = freshHome();
  ok(
    rekey(
      ["record", "add", "--title", "carol", "--set", "login=carol", "--set", "rotation_mode=scripts-only"],
      { env },
    ),
    "add",
  );
  ok(rekey(["record", "schedule", "carol", "every 1h"], { env }), "schedule");
  const script = join(home, "hello.mjs");
  writeFileSync(script, "console.log('hello from the script'); console.error('a warning');\n");
  ok(rekey(["record", "script", "add", "carol", script, "--command", "node"], { env }), "script");
  ok(rekey(["record", "add", "--title", "dan", "--set", "login=dan"], { env }), "add on-demand user");

  const run = ok(rekey(["gateway", "--once", "--jitter", "0"], { env }), "gateway --once");
  assert.match(run.stdout, /carol +startup-catch-up \(scripts only\) +1 +succeeded +1\/1 ok/);
  assert.doesNotMatch(run.stdout, /dan/, "no schedule: not rotated");

  const history = JSON.parse(ok(rekey(["history", "carol", "--json"], { env }), "history").stdout);
  assert.equal(history.length, 1);
  assert.equal(history[0].mode, "scripts-only");
  assert.equal(history[0].scripts[0].stdout, "hello from the script\n");
  assert.equal(history[0].scripts[0].stderr, "a warning\n");
  const verbose = ok(rekey(["history", "--scripts", "--limit", "1"], { env }), "history --scripts").stdout;
  assert.match(verbose, /script hello\.mjs .*node, exit 0/);
  assert.match(verbose, /hello from the script/);
  assert.equal(rekey(["history", "nobody"], { env }).code, 3);
  assert.equal(rekey(["history", "--limit", "0"], { env }).code, 2);

  const status = JSON.parse(ok(rekey(["status", "--json"], { env }), "status").stdout);
  const carol = status.find((s: { title: string }) => s.title === "carol");
  assert.equal(carol.mode, "scripts-only");
  assert.equal(carol.lastOutcome.outcome, "succeeded");
  const next = Date.parse(carol.nextRotation) - Date.parse(carol.lastRotation);
  assert.ok(next >= 3_599_000 && next <= 3_601_000, "next rotation one hour after the last");
  const dan = status.find((s: { title: string }) => s.title === "dan");
  assert.deepEqual([dan.nextRotation, dan.lastOutcome, dan.lastRotation], [null, null, null]);
  const text = ok(rekey(["status"], { env }), "status").stdout;
  assert.match(text, /carol +carol .*every 1h \(scripts only\)/);
  assert.match(text, /dan +dan .*on demand/);
});
