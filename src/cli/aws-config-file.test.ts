import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  commandLine,
  credentialProcessCommand,
  profileOfLine,
  quoteArg,
  sectionHeader,
  upsertProfile,
  writeConfigFile,
} from "./aws-config-file.js";

const ARGS = [
  "/usr/bin/env",
  "REKEY_HOME=/home/a b/.rekey",
  "REKEY_KEY_FILE=/home/o'brien/k.key",
  "/opt/node 20/bin/node",
  "/x/$HOME/`id`/rekey.js",
  'say "hi"\\',
  "credential-process",
  "-uid_with-dash",
];

test("quoteArg: plain paths stay bare; anything else is single-quoted", () => {
  assert.equal(quoteArg("/usr/bin/node"), "/usr/bin/node");
  assert.equal(quoteArg("REKEY_HOME=/a/b"), "REKEY_HOME=/a/b");
  assert.equal(quoteArg("/a b"), "'/a b'");
  assert.equal(quoteArg("o'brien"), "'o'\\''brien'");
  assert.throws(() => quoteArg("a\nb"), /line break/);
});

test("sh -c reads back exactly the argv (how the JS, Go, Java and Rust SDKs run credential_process)", () => {
  const line = commandLine(ARGS);
  const r = spawnSync("/bin/sh", ["-c", `printf '%s\\n' ${line}`], {
    encoding: "utf8",
  });
  assert.deepEqual(r.stdout.split("\n").slice(0, -1), ARGS);
});

test("python shlex.split reads back exactly the argv (how botocore, the AWS CLI and boto3 split it)", (t) => {
  const line = commandLine(ARGS);
  const r = spawnSync(
    "python3",
    ["-c", "import json,shlex,sys; print(json.dumps(shlex.split(sys.argv[1])))", line],
    {
      encoding: "utf8",
    },
  );
  if (r.error) return t.skip("python3 is not installed");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ARGS);
});

test("a line the JS SDK would cut at ' #' or ' ;' is refused", () => {
  assert.throws(() => commandLine(["/usr/bin/env", "REKEY_HOME=/a #b"]), /comment/);
  assert.throws(() => commandLine(["/usr/bin/env", "/x ;y"]), /comment/);
  assert.equal(commandLine(["/a#b", "/c;d"]), "'/a#b' '/c;d'", "not after a blank: kept, quoted");
});

test("credentialProcessCommand: env, the vault variables, node, rekey, the record ('--' before a UID starting with -)", () => {
  const base = {
    nodePath: "/usr/bin/node",
    entryScript: "/opt/rekey/bin/rekey.js",
    vaultEnv: { REKEY_HOME: "/h/.rekey", REKEY_KEY_FILE: "/h/.rekey/apps.key" },
  };
  assert.equal(
    credentialProcessCommand({ ...base, recordUid: "abc_DEF" }),
    "/usr/bin/env REKEY_HOME=/h/.rekey REKEY_KEY_FILE=/h/.rekey/apps.key /usr/bin/node /opt/rekey/bin/rekey.js credential-process abc_DEF",
  );
  assert.match(credentialProcessCommand({ ...base, recordUid: "-abc" }), / credential-process -- -abc$/);
});

test("sectionHeader / profileOfLine: [default], [profile NAME]; bad names refused", () => {
  assert.equal(sectionHeader("default"), "[default]");
  assert.equal(sectionHeader("alice-prod"), "[profile alice-prod]");
  assert.throws(() => sectionHeader("a b"), /not a profile name/);
  assert.throws(() => sectionHeader("x]"), /not a profile name/);
  assert.equal(profileOfLine("[default]"), "default");
  assert.equal(profileOfLine("  [profile default]  # c"), "default");
  assert.equal(profileOfLine('[profile "alice"]'), "alice");
  assert.equal(profileOfLine("[sso-session alice]"), undefined);
  assert.equal(profileOfLine("region = x"), undefined);
});

const EXISTING = [
  "# my settings",
  "[default]",
  "region = eu-west-1",
  "",
  "; about alice",
  "[profile alice]",
  "output = json",
  "credential_process = /old/thing",
  "",
  "# about bob",
  "[profile bob]",
  "region = us-east-1",
  "[profile alice]",
  "region = us-west-2",
  "",
].join("\n");

const SECTION = ["[profile alice]", "credential_process = /new/thing"];

test("upsertProfile: a new profile is appended after a blank line; nothing else changes", () => {
  const r = upsertProfile(EXISTING, "carol", ["[profile carol]", "x = 1"], { force: false, configFile: "f" });
  assert.equal(r.replaced, false);
  assert.equal(r.text, `${EXISTING}\n[profile carol]\nx = 1\n`);
  assert.equal(
    upsertProfile("", "carol", ["[profile carol]"], { force: false, configFile: "f" }).text,
    "[profile carol]\n",
  );
  assert.equal(
    upsertProfile("[a]\r\nk = v", "carol", ["[profile carol]"], { force: false, configFile: "f" }).text,
    "[a]\r\nk = v\r\n\r\n[profile carol]\r\n",
    "CRLF files stay CRLF; a missing final newline is added",
  );
});

test("upsertProfile: an existing profile is refused without force, replaced (every copy) with it", () => {
  assert.throws(
    () => upsertProfile(EXISTING, "alice", SECTION, { force: false, configFile: "/c" }),
    (e: Error) => /\/c already has the profile "alice" \(line 6\)/.test(e.message),
  );
  const r = upsertProfile(EXISTING, "alice", SECTION, { force: true, configFile: "/c" });
  assert.equal(r.replaced, true);
  assert.equal(
    r.text,
    [
      "# my settings",
      "[default]",
      "region = eu-west-1",
      "",
      "; about alice",
      "[profile alice]",
      "credential_process = /new/thing",
      "",
      "# about bob",
      "[profile bob]",
      "region = us-east-1",
      "",
    ].join("\n"),
  );
  const d = upsertProfile(EXISTING, "default", ["[default]", "k = 1"], { force: true, configFile: "/c" });
  assert.match(d.text, /^# my settings\n\[default\]\nk = 1\n\n; about alice\n/);
});

test("writeConfigFile: a new file 0600 in a new 0700 directory; an existing one keeps its mode, through a symlink", () => {
  const dir = mkdtempSync(join(tmpdir(), "rekey-awscfg-"));
  const fresh = join(dir, "new", ".aws", "config");
  writeConfigFile(fresh, "[default]\n");
  assert.equal(statSync(fresh).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, "new", ".aws")).mode & 0o777, 0o700);

  const real = join(dir, "real-config");
  writeFileSync(real, "old\n", { mode: 0o640 });
  const link = join(dir, "link");
  symlinkSync(real, link);
  writeConfigFile(link, "new\n");
  assert.equal(readFileSync(real, "utf8"), "new\n");
  assert.equal(statSync(real).mode & 0o777, 0o640);
  assert.ok(statSync(link).isFile(), "the link still points at the file");
});
