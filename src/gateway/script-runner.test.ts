import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import {
  buildGatewayParams,
  GATEWAY_PARAM_KEYS,
  type GatewayParamsInput,
  secretsOfParams,
} from "../pam-protocol/script-params.js";
import { Secret } from "../secret.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import { runScript } from "./script-runner.js";

const work = mkdtempSync(join(tmpdir(), "rekey-runner-test-"));
after(() => rmSync(work, { recursive: true, force: true }));
const NODE = process.execPath;

const NEW_SECRET = "NEWsecret/abc+def0123456789xyz";
const OLD_SECRET = "OLDsecret/abc+def0123456789xyz";
const ADMIN_SECRET = "ADMINsecret/0123456789abcdefgh";

function params(): GatewayParamsInput {
  const config = newRecord("pamAwsConfiguration", "AWS prod");
  setFieldValue(config, "accessKeyId", "AKIAADMIN0000000000");
  setFieldValue(config, "accessSecretKey", ADMIN_SECRET);
  const user = newRecord("pamUser", "alice (AWS)");
  setFieldValue(user, "login", "alice");
  setFieldValue(user, "aws_access_key_id", "AKIANEW000000000000");
  setFieldValue(user, "aws_secret_access_key", NEW_SECRET, { type: "secret" });
  return {
    providerRecordUid: "C".repeat(22),
    userRecordUid: "U".repeat(22),
    newPassword: new Secret(NEW_SECRET),
    oldPassword: new Secret(OLD_SECRET),
    user: "alice",
    records: [
      { uid: "C".repeat(22), record: config },
      { uid: "U".repeat(22), record: user },
    ],
  };
}

// Reads its stdin to the end (to see that exactly one line came), reports what it saw in a file
// (outside the redaction, for the test), then prints secrets to see them redacted.
const PROBE = `
const fs = require("node:fs");
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => { buf += c; });
process.stdin.on("end", () => {
  const script = process.argv[process.argv.length - 1];
  fs.writeFileSync(process.env.RESULT_FILE, JSON.stringify({
    raw: buf, argv: process.argv, env: process.env, cwd: process.cwd(),
    fileMode: fs.statSync(script).mode & 0o777, dirMode: fs.statSync(require("node:path").dirname(script)).mode & 0o777,
  }));
  const line = buf.split("\\n")[0];
  const p = JSON.parse(Buffer.from(line, "base64").toString("utf8"));
  const records = JSON.parse(Buffer.from(p.records, "base64").toString("utf8"));
  const want = ${JSON.stringify(GATEWAY_PARAM_KEYS)};
  const keys = Object.keys(p);
  if (keys.length !== want.length || keys.some((k, i) => k !== want[i])) { console.error("bad keys " + keys); process.exit(3); }
  if (!Array.isArray(records) || records.at(-1).uid !== p.userRecordUid) { console.error("bad records"); process.exit(4); }
  console.log("user=" + p.user + " new=" + p.newPassword + " old=" + p.oldPassword);
  console.log("records=" + JSON.stringify(records));
  console.log("line=" + line);
  console.error("stderr new=" + p.newPassword);
});
`;

test("a real script receives exactly the documented line, in a minimal environment, output redacted", async () => {
  const input = params();
  const line = buildGatewayParams(input);
  const resultFile = join(work, "probe.json");
  const res = await runScript({
    command: NODE,
    content: PROBE,
    fileName: "probe.cjs",
    stdinLine: line,
    timeoutMs: 20_000,
    env: { RESULT_FILE: resultFile },
    baseEnv: {
      PATH: process.env.PATH,
      HOME: "/home/x",
      LANG: "C.UTF-8",
      AWS_SECRET_ACCESS_KEY: "gateway-own",
    },
    secrets: secretsOfParams(input, line),
  });
  assert.equal(res.stderr.includes("bad"), false, res.stderr);
  assert.equal(res.exitCode, 0);
  assert.equal(res.success, true);
  assert.equal(res.timedOut, false);

  const seen = JSON.parse(readFileSync(resultFile, "utf8"));
  assert.equal(seen.raw, `${line}\n`, "exactly one line: the base64 parameters and a newline");
  assert.deepEqual(Object.keys(seen.env).sort(), ["HOME", "LANG", "PATH", "RESULT_FILE"]);
  assert.equal(seen.env.HOME, "/home/x");
  assert.equal(seen.argv.length, 2, "node <script file>");
  assert.match(seen.argv[1], /rekey-script-[^/]+\/probe\.cjs$/);
  assert.equal(seen.fileMode, 0o600);
  assert.equal(seen.dirMode, 0o700);
  for (const arg of seen.argv)
    for (const s of [NEW_SECRET, OLD_SECRET, ADMIN_SECRET]) assert.ok(!arg.includes(s));
  assert.equal(existsSync(dirname(seen.argv[1])), false, "the temporary directory is removed");

  assert.match(res.stdout, /^user=alice new=\[REDACTED\] old=\[REDACTED\]/);
  assert.match(res.stderr, /stderr new=\[REDACTED\]/);
  for (const s of [
    NEW_SECRET,
    OLD_SECRET,
    ADMIN_SECRET,
    line,
    JSON.parse(Buffer.from(line, "base64").toString()).records,
  ]) {
    assert.ok(!res.stdout.includes(s), `stdout leaks ${s.slice(0, 10)}...`);
    assert.ok(!res.stderr.includes(s));
  }
  assert.match(res.stdout, /AKIANEW000000000000/, "key ids are not secrets");
});

test("a script file on disk runs as is", async () => {
  const path = join(work, "exit7.cjs");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(path, "console.error('failing on purpose'); process.exit(7);");
  const res = await runScript({ command: NODE, scriptPath: path, stdinLine: "eyJ9", timeoutMs: 20_000 });
  assert.equal(res.exitCode, 7);
  assert.equal(res.success, false);
  assert.match(res.stderr, /failing on purpose/);
  assert.equal(existsSync(path), true, "the caller's file is left alone");
});

test("a script that never reads stdin still runs", async () => {
  const res = await runScript({
    command: NODE,
    content: "process.exit(0)",
    stdinLine: "x".repeat(200_000),
    timeoutMs: 20_000,
  });
  assert.equal(res.success, true);
});

test("timeout: SIGTERM, then SIGKILL for a script that ignores it; its children die too", async () => {
  const pidFile = join(work, "grandchild.pid");
  const script = `
    const { spawn } = require("node:child_process");
    const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    require("node:fs").writeFileSync(${JSON.stringify(pidFile)}, String(c.pid));
    process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
    console.log("started");
    setInterval(() => {}, 1000);
  `;
  const res = await runScript({
    command: NODE,
    content: script,
    stdinLine: "eyJ9",
    timeoutMs: 500,
    killGraceMs: 300,
  });
  assert.equal(res.timedOut, true);
  assert.equal(res.success, false);
  assert.equal(res.exitCode, null);
  assert.equal(res.signal, "SIGKILL");
  assert.match(res.stdout, /started/);
  const pid = Number(readFileSync(pidFile, "utf8"));
  assert.ok(await gone(pid), `grandchild ${pid} still running`);
});

test("output is capped; a secret cut by the cap is not shown in part", async () => {
  const secret = "CUTsecret0123456789abcdefghij";
  const script = `process.stdout.write("a".repeat(100) + ${JSON.stringify(secret)} + "b".repeat(1000));`;
  const res = await runScript({
    command: NODE,
    content: script,
    stdinLine: "eyJ9",
    timeoutMs: 20_000,
    maxOutputBytes: 110,
    secrets: [secret],
  });
  assert.equal(res.truncated.stdout, true);
  assert.ok(!res.stdout.includes(secret.slice(0, 4)), res.stdout);
  assert.match(res.stdout, /^a{100}\n\[output truncated\]$/);
});

test("a command that does not exist is reported, not thrown", async () => {
  const res = await runScript({
    command: "rekey-no-such-interpreter",
    content: "x",
    stdinLine: "eyJ9",
    timeoutMs: 5000,
  });
  assert.equal(res.success, false);
  assert.equal(res.exitCode, null);
  assert.match(res.error ?? "", /ENOENT/);
});

test("a secret in the command line is refused before anything runs", async () => {
  await assert.rejects(
    runScript({
      command: `${NODE} --title=${NEW_SECRET}`,
      content: "x",
      stdinLine: "eyJ9",
      timeoutMs: 5000,
      secrets: [NEW_SECRET],
    }),
    /secret in its command line/,
  );
});

/** True once `pid` has exited (gone, or a zombie nobody reaped yet). Polls up to 5 s. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (/\) Z /.test(stat)) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// Prints every secret it was handed (the passwords, and the records' secret values, one of them in a
// text field labelled aws_secret_access_key) in each encoding a script may use.
const ENCODER = `
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => { buf += c; });
process.stdin.on("end", () => {
  const p = JSON.parse(Buffer.from(buf.split("\\n")[0], "base64").toString("utf8"));
  const records = JSON.parse(Buffer.from(p.records, "base64").toString("utf8"));
  const secrets = [p.newPassword, p.oldPassword];
  for (const r of records) for (const k of ["accessSecretKey", "aws_secret_access_key"]) if (r[k]) secrets.push(r[k]);
  for (const s of secrets) {
    const b = Buffer.from(s, "utf8");
    const uri = encodeURIComponent(s);
    console.log("uri " + uri);
    console.log("form " + uri.replaceAll("%20", "+"));
    console.log("params " + new URLSearchParams({ k: s }));
    console.log("json " + JSON.stringify({ s }).replaceAll("/", "\\\\/"));
    console.log("b64 " + b.toString("base64") + " b64url " + b.toString("base64url"));
    for (const pad of [0, 1, 2]) {
      const blob = Buffer.concat([Buffer.from("{\\"k\\":\\"".slice(0, 3 + pad)), b, Buffer.from("\\"}")]);
      console.log("blob" + pad + " " + blob.toString("base64") + " " + blob.toString("base64url"));
    }
    console.error("stderr " + b.toString("base64url"));
  }
});
`;

/** Whether any piece of `out` decodes (URL, \/-JSON, base64 at any alignment) to text holding `secret`. */
function revealsSecret(out: string, secret: string): boolean {
  const decodings = (p: string): string[] => {
    const out = [p, p.replaceAll("\\/", "/")];
    for (const t of [p, p.replaceAll("+", " ")]) {
      try {
        out.push(decodeURIComponent(t));
      } catch {}
    }
    for (let i = 0; i < 4; i++) {
      out.push(Buffer.from(p.slice(i), "base64").toString("latin1"));
      out.push(Buffer.from(p.slice(i), "base64url").toString("latin1"));
    }
    return out;
  };
  return out
    .split(/[\s=&]+|\[REDACTED\]/)
    .filter((p) => p.length > 0)
    .some((p) => decodings(p).some((d) => d.includes(secret)));
}

test("script output: URL-encoded, \\/-escaped and base64 forms of every secret handed are redacted", async () => {
  const input = params();
  const imported = newRecord("login", "imported from CSV");
  const CSV_SECRET = "csvSecret/with spaces+and?odd&chars=42";
  imported.custom.push({ type: "text", label: "aws_secret_access_key", value: [CSV_SECRET] });
  const withCsv = {
    ...input,
    records: [input.records[0]!, { uid: "I".repeat(22), record: imported }, input.records[1]!],
  };
  const line = buildGatewayParams(withCsv);
  const res = await runScript({
    command: NODE,
    content: ENCODER,
    fileName: "encoder.cjs",
    stdinLine: line,
    timeoutMs: 20_000,
    secrets: secretsOfParams(withCsv, line),
  });
  assert.equal(res.exitCode, 0, res.stderr);
  assert.match(res.stdout, /blob2 /, "the script printed every form");
  for (const s of [NEW_SECRET, OLD_SECRET, ADMIN_SECRET, CSV_SECRET]) {
    assert.ok(!revealsSecret(res.stdout, s), `stdout reveals ${s.slice(0, 8)}...:\n${res.stdout}`);
    assert.ok(!revealsSecret(res.stderr, s), `stderr reveals ${s.slice(0, 8)}...`);
  }
});
