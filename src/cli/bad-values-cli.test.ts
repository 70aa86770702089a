/**
 * Issue #10, item 11: bad values are refused, not guessed. The real bundled CLI on a real vault in a
 * temp dir; each case checks the exit code, that the message names what is wrong, and that nothing
 * was written.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freshHome, rekey } from "../testing/cli.js";

function ok(r: { code: number; stderr: string; stdout: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

function refused(r: { code: number; stderr: string; stdout: string }, what: string) {
  assert.equal(r.code, 2, `${what}: expected exit 2, got ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TEMPLATE = "AWS IAM user access key (template)";

test("--secret with empty stdin, too few lines or an empty line is refused; the secret stays", () => {
  const { env } = freshHome();
  const add = ["record", "add", "--title", "alice", "--secret", "aws_secret_access_key"];
  ok(rekey(add, { env, input: `${SECRET}\n` }), "add");
  const list = () => ok(rekey(["record", "list", "--json"], { env }), "list").stdout;
  const history = () => ok(rekey(["record", "history", "alice", "--json"], { env }), "history").stdout;
  const before = { list: list(), history: history() };

  const edit = (secrets: string[], input: string) =>
    rekey(["record", "edit", "alice", ...secrets.flatMap((s) => ["--secret", s])], { env, input });

  const empty = refused(edit(["aws_secret_access_key"], ""), "edit, empty stdin");
  assert.match(empty.stderr, /no value on stdin for --secret aws_secret_access_key/);
  assert.match(empty.stderr, /nothing was changed/);

  const short = refused(edit(["aws_secret_access_key", "password"], `${SECRET}\n`), "edit, one line for two");
  assert.match(short.stderr, /no value on stdin for --secret password \(1 line\(s\) for 2/);

  const blank = refused(edit(["aws_secret_access_key"], "\n"), "edit, an empty line");
  assert.match(blank.stderr, /the value for --secret aws_secret_access_key is empty/);
  assert.match(blank.stderr, /--unset aws_secret_access_key/);

  assert.equal(
    ok(rekey(["record", "get", "alice", "aws_secret_access_key"], { env }), "get").stdout,
    `${SECRET}\n`,
    "the secret is unchanged",
  );
  assert.deepEqual({ list: list(), history: history() }, before, "no new revision");

  const addEmpty = refused(rekey([...add.slice(0, 3), "bob", ...add.slice(4)], { env, input: "" }), "add");
  assert.match(addEmpty.stderr, /no value on stdin for --secret aws_secret_access_key/);
  assert.equal(list(), before.list, "no record added");

  // A value without a final newline is still one line.
  ok(edit(["aws_secret_access_key"], "NEW-SECRET-2"), "edit without a final newline");
  assert.equal(rekey(["record", "get", "alice", "aws_secret_access_key"], { env }).stdout, "NEW-SECRET-2\n");
});

test("record add / edit --set: non-boolean flags and unknown strategies or modes are refused", () => {
  const { env } = freshHome();
  const list = () => ok(rekey(["record", "list", "--json"], { env }), "list").stdout;
  const empty = list();
  const add = refused(
    rekey(
      [
        "record",
        "add",
        "--type",
        "pamUser",
        "--title",
        "alice",
        "--set",
        "delete_all_keys_before_rotating=maybe",
      ],
      {
        env,
      },
    ),
    "add",
  );
  assert.match(
    add.stderr,
    /record "alice": field delete_all_keys_before_rotating: "maybe" is not a yes\/no value/,
  );
  assert.match(add.stderr, /True\/False, yes\/no, 1\/0, on\/off \(any case\)/);
  assert.equal(list(), empty, "nothing added");

  ok(
    rekey(
      [
        "record",
        "add",
        "--type",
        "pamUser",
        "--title",
        "alice",
        "--set",
        "login=alice",
        "--set",
        "NOOP=False",
      ],
      {
        env,
      },
    ),
    "add with good values",
  );
  const before = ok(rekey(["record", "history", "alice", "--json"], { env }), "history").stdout;
  const cases: Array<[string, RegExp]> = [
    ["NOOP=maybe", /record "alice": field NOOP: "maybe" is not a yes\/no value/],
    [
      "delete_all_keys_before_rotating=2",
      /field delete_all_keys_before_rotating: "2" is not a yes\/no value/,
    ],
    ["rotation_strategy=fast", /field rotation_strategy: unknown rotation strategy "fast".*graceful/],
    ["rotation_mode=noop", /field rotation_mode: unknown rotation mode "noop".*rotate, scripts-only/],
  ];
  for (const [set, re] of cases) {
    const r = refused(rekey(["record", "edit", "alice", "--set", set], { env }), set);
    assert.match(r.stderr, re, set);
    assert.match(r.stderr, /nothing was changed/, set);
  }
  assert.equal(
    ok(rekey(["record", "history", "alice", "--json"], { env }), "history").stdout,
    before,
    "no new revision",
  );
  for (const set of ["NOOP=True", "delete_all_keys_before_rotating=yes", "rotation_mode=scripts-only"])
    ok(rekey(["record", "edit", "alice", "--set", set], { env }), set);
});

test("import csv: a bad setting value refuses the whole file, naming the line", () => {
  const { home, env } = freshHome();
  const csv = join(home, "bad.csv");
  writeFileSync(
    csv,
    [
      ",good,alice,,,,,$type,pamUser,NOOP,True",
      ",bad,bob,,,,,$type,pamUser,delete_all_keys_before_rotating,maybe",
      ",worse,carol,,,,,rotation_strategy,fast",
    ].join("\n"),
  );
  const before = ok(rekey(["record", "list", "--json"], { env }), "list").stdout;
  const r = refused(rekey(["import", "csv", csv], { env }), "import");
  assert.match(r.stderr, /line 2: field delete_all_keys_before_rotating: "maybe" is not a yes\/no value/);
  assert.match(r.stderr, /line 3: field rotation_strategy: unknown rotation strategy "fast"/);
  assert.match(r.stderr, /nothing was imported/);
  assert.equal(ok(rekey(["record", "list", "--json"], { env }), "list").stdout, before, "nothing imported");
});

test("import csv: $type in the wrong case is corrected with a notice; an unknown one is refused", () => {
  const { home, env } = freshHome();
  const cased = join(home, "cased.csv");
  writeFileSync(cased, ",alice,alice,,,,,$type,pamuser\n");
  const r = ok(rekey(["import", "csv", cased], { env }), "import");
  assert.match(r.stderr, /^rekey: notice: line 1: \$type "pamuser" read as "pamUser"$/m);
  assert.match(r.stdout, /imported pamUser record "alice"/);

  const before = ok(rekey(["record", "list", "--json"], { env }), "list").stdout;
  const unknown = join(home, "unknown.csv");
  writeFileSync(unknown, ",bob,bob,,,,,$type,pamUser\n,carol,carol,,,,,$type,pamUsr\n");
  const bad = refused(rekey(["import", "csv", unknown], { env }), "import unknown");
  assert.match(bad.stderr, /line 2: unknown record type \$type "pamUsr"; nothing was imported/);
  assert.match(bad.stderr, /use one of: login, pamUser, pamAwsConfiguration/);
  assert.equal(ok(rekey(["record", "list", "--json"], { env }), "list").stdout, before, "nothing imported");
});

test("a schedule on a record the gateway never reads is stored with a warning", () => {
  const { home, env } = freshHome();
  const tpl = ok(rekey(["template", "aws-user", "--login", "alice"], { env }), "template");
  const file = join(home, "template.csv");
  writeFileSync(file, tpl.stdout);
  ok(rekey(["import", "csv", file], { env }), "import");

  const onLogin = ok(
    rekey(["record", "schedule", TEMPLATE, "every 30d"], { env }),
    "schedule a login record",
  );
  assert.equal(
    onLogin.stderr,
    `rekey: warning: record "${TEMPLATE}" is a login record: the gateway rotates only pamUser records, so this schedule does nothing until you run: rekey record convert "${TEMPLATE}" --type pamUser\n`,
  );
  const shown = JSON.parse(ok(rekey(["record", "show", TEMPLATE, "--json"], { env }), "show").stdout);
  assert.ok(
    shown.custom.some((f: { label?: string }) => f.label === "rotationSchedule"),
    "the schedule is stored all the same",
  );

  ok(rekey(["record", "convert", TEMPLATE, "--type", "pamUser"], { env }), "convert");
  const onUser = ok(rekey(["record", "schedule", TEMPLATE, "every 7d"], { env }), "schedule a pamUser");
  assert.equal(onUser.stderr, "", "no warning on a pamUser");

  const csv = join(home, "scheduled.csv");
  writeFileSync(
    csv,
    [
      ",bob,bob,,,,,rotationSchedule,every 30d",
      ",carol,carol,,,,,$type,pamUser,$schedule:rotationSchedule,every 7d",
    ].join("\n"),
  );
  const imported = ok(rekey(["import", "csv", csv], { env }), "import a scheduled login row");
  assert.equal(
    imported.stderr,
    'rekey: warning: line 1: record "bob" is a login record: the gateway rotates only pamUser records, so this schedule does nothing until you run: rekey record convert "bob" --type pamUser\n',
  );
  assert.match(imported.stdout, /2 record\(s\) imported/);
});
