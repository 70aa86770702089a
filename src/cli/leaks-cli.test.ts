/**
 * Leaks (issue #12) as a user meets them, through the real bundled CLI: secrets in encoded script
 * output, secrets in text fields, the vault passphrase inherited by AWS helpers, input quoted in
 * parse errors, terminal control sequences in titles and script output.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { type CliResult, freshHome, rekey, rekeyAsync } from "../testing/cli.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY EXAMPLE+KEY";

test("a text field labelled aws_secret_access_key (a CSV column) is masked, and hidden once saved", () => {
  const { home, env } = freshHome();
  const csv = join(home, "keys.csv");
  writeFileSync(
    csv,
    `,csv-user,csv-user,,,,,aws_access_key_id,AKIACSV0000000000000,aws_secret_access_key,${SECRET}\n`,
  );
  ok(rekey(["import", "csv", csv], { env }), "import csv");
  const shown = ok(rekey(["record", "show", "csv-user"], { env }), "show");
  assert.ok(!shown.stdout.includes("wJalr"), shown.stdout);
  assert.match(shown.stdout, /aws_secret_access_key \(secret\): \*{8}/);
  assert.match(shown.stdout, /AKIACSV0000000000000/, "a key id is not a secret");
  const json = ok(rekey(["record", "show", "csv-user", "--json"], { env }), "show --json");
  assert.ok(!json.stdout.includes("wJalr"), json.stdout);
  const field = JSON.parse(json.stdout).custom.find(
    (f: { label?: string }) => f.label === "aws_secret_access_key",
  );
  assert.equal(field.type, "secret", "saved as a hidden field");
  const revealed = ok(rekey(["record", "get", "csv-user", "aws_secret_access_key"], { env }), "get");
  assert.equal(revealed.stdout.trim(), SECRET, "the value itself is kept");
});

test("a parse error never quotes the JSON it failed to parse", () => {
  const { env } = freshHome();
  const bad = `{"type": "login", "title": "x", "custom": [{"type": "secret", "value": [${SECRET}]}]}`;
  ok(rekey(["record", "add", "--title", "y", "--type", "login"], { env }), "add");
  const add = rekey(["record", "add", "--from-json"], { env, input: bad });
  assert.equal(add.code, 2, add.stderr);
  assert.match(add.stderr, new RegExp(`stdin is not valid JSON at position ${bad.indexOf("wJalr")}\n`));
  const edit = rekey(["record", "edit", "y", "--from-json"], { env, input: bad });
  assert.equal(edit.code, 2, edit.stderr);
  for (const r of [add, edit])
    assert.ok(!r.stderr.includes("wJalr") && !r.stderr.includes("EXAMPLE"), r.stderr);
});

const EVIL = "evil\u001b]0;pwned\u0007";
/** Any control character but newline (script output and messages keep their lines). */
const CONTROL = /(?!\n)\p{Cc}/u;

test("titles and script output reach the terminal with their control characters escaped", () => {
  const { home, env } = freshHome();
  ok(
    rekey(["record", "add", "--title", EVIL, "--set", "login=eve", "--set", "rotation_mode=scripts-only"], {
      env,
    }),
    "add",
  );
  ok(rekey(["record", "schedule", EVIL, "every 1h"], { env }), "schedule");
  const script = join(home, "evil.mjs");
  writeFileSync(
    script,
    "console.log('clear\\u001b[2J red\\u009b31m bell\\u0007'); console.error('\\r\\u001b]8;;x\\u0007');\n",
  );
  ok(rekey(["record", "script", "add", EVIL, script, "--command", "node"], { env }), "script add");
  const runs: Array<[string, CliResult]> = [
    ["gateway --once", ok(rekey(["gateway", "--once", "--jitter", "0"], { env }), "gateway")],
    ["record list", ok(rekey(["record", "list"], { env }), "list")],
    ["record show", ok(rekey(["record", "show", EVIL], { env }), "show")],
    ["record script list", ok(rekey(["record", "script", "list", EVIL], { env }), "script list")],
    ["status", ok(rekey(["status"], { env }), "status")],
    ["history", ok(rekey(["history"], { env }), "history")],
    ["history --scripts", ok(rekey(["history", "--scripts"], { env }), "history --scripts")],
    ["an error naming the title", rekey(["record", "show", `${EVIL}x`], { env })],
  ];
  for (const [what, r] of runs) {
    assert.ok(!CONTROL.test(r.stdout) && !CONTROL.test(r.stderr), `${what}: ${JSON.stringify(r)}`);
  }
  assert.match(runs[2]![1].stdout, /Title: +evil\\x1b\]0;pwned\\x07/);
  assert.match(runs[6]![1].stdout, /clear\\x1b\[2J red\\u009b31m bell\\x07/);
  assert.match(runs[7]![1].stderr, /no record with UID or title "evil\\x1b/);
  const json = JSON.parse(ok(rekey(["history", "--json"], { env }), "history --json").stdout);
  assert.ok(json[0].scripts[0].stdout.includes("\u001b[2J"), "JSON keeps the text as it was");
});

test("script output: encoded forms of the record's secrets reach neither history nor gateway --json", () => {
  const { home, env } = freshHome();
  ok(
    rekey(
      [
        "record",
        "add",
        "--title",
        "enc",
        "--set",
        "login=enc",
        "--set",
        "rotation_mode=scripts-only",
        "--secret",
        "aws_secret_access_key",
      ],
      {
        env,
        input: `${SECRET}\n`,
      },
    ),
    "add",
  );
  ok(rekey(["record", "schedule", "enc", "every 1h"], { env }), "schedule");
  const script = join(home, "enc.cjs");
  writeFileSync(
    script,
    `let b = ""; process.stdin.on("data", (c) => { b += c; }); process.stdin.on("end", () => {
  const p = JSON.parse(Buffer.from(b.split("\\n")[0], "base64").toString());
  const user = JSON.parse(Buffer.from(p.records, "base64").toString()).at(-1);
  for (const s of [user.aws_secret_access_key, p.newPassword]) {
    const u = encodeURIComponent(s);
    console.log(u, u.replaceAll("%20", "+"), JSON.stringify(s).replaceAll("/", "\\\\/"));
    console.log(Buffer.from(s).toString("base64"), Buffer.from(s).toString("base64url"));
    console.log(Buffer.from("ab" + s + "z").toString("base64"), Buffer.from("a" + s).toString("base64url"));
  }
});\n`,
  );
  ok(rekey(["record", "script", "add", "enc", script, "--command", "node"], { env }), "script add");
  const run = ok(rekey(["gateway", "--once", "--jitter", "0", "--json"], { env }), "gateway --once --json");
  const history = ok(rekey(["history", "--json"], { env }), "history --json");
  const stdout: string = JSON.parse(history.stdout)[0].scripts[0].stdout;
  assert.match(stdout, /REDACTED/);
  const b = Buffer.from(SECRET);
  const forms = [
    encodeURIComponent(SECRET),
    encodeURIComponent(SECRET).replaceAll("%20", "+"),
    SECRET.replaceAll("/", "\\/"),
    b.toString("base64"),
    b.toString("base64url"),
    Buffer.from(`ab${SECRET}z`).toString("base64"),
    Buffer.from(`a${SECRET}`).toString("base64url"),
  ];
  for (const f of forms) {
    assert.ok(!stdout.includes(f), `history holds ${f}`);
    assert.ok(!run.stdout.includes(f) && !run.stdout.includes(JSON.stringify(f).slice(1, -1)));
  }
  assert.ok(!stdout.includes("EXAMPLE") && !stdout.includes("wJalr"));
});

test("REKEY_PASSPHRASE never reaches a credential_process helper of the AWS default chain", async () => {
  const home = mkdtempSync(join(tmpdir(), "rekey-cli-"));
  const passphrase = "correct horse battery staple";
  const env = { REKEY_HOME: home, REKEY_PASSPHRASE: passphrase, AWS_EC2_METADATA_DISABLED: "true" };
  ok(await rekeyAsync(["init"], { env }), "init");
  sandbox.admin.createUser("cp-user");
  const first = sandbox.admin.createAccessKey("cp-user");
  ok(
    await rekeyAsync(
      [
        "record",
        "add",
        "--title",
        "cp-user",
        "--set",
        "login=cp-user",
        "--set",
        `aws_access_key_id=${first.accessKeyId}`,
        "--secret",
        "aws_secret_access_key",
      ],
      { env, input: `${first.secretAccessKey}\n` },
    ),
    "add",
  );
  const dump = join(home, "helper-env.json");
  const helper = join(home, "helper.cjs");
  writeFileSync(
    helper,
    `require("node:fs").writeFileSync(${JSON.stringify(dump)}, JSON.stringify(process.env));
console.log(JSON.stringify({ Version: 1, AccessKeyId: ${JSON.stringify(sandbox.root.accessKeyId)}, SecretAccessKey: ${JSON.stringify(sandbox.root.secretAccessKey)} }));\n`,
  );
  const config = join(home, "aws-config");
  writeFileSync(config, `[profile helper]\ncredential_process = ${process.execPath} ${helper}\n`);
  const r = await rekeyAsync(["rotate", "cp-user", "--dry-run", "--endpoint-url", sandbox.endpoint], {
    env: {
      ...env,
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials"),
      AWS_PROFILE: "helper",
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /profile helper/, "the default chain's credential_process was used");
  assert.ok(existsSync(dump), "the helper ran");
  const seen = readFileSync(dump, "utf8");
  assert.ok(!seen.includes(passphrase), "the helper's environment holds no passphrase");
  assert.equal(JSON.parse(seen).REKEY_PASSPHRASE, undefined);
  assert.equal(JSON.parse(seen).REKEY_HOME, home, "the rest of the environment is inherited");
});
