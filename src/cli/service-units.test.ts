import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BIN } from "../testing/cli.js";
import {
  checkUserName,
  gatewayService,
  onceService,
  onceTimer,
  systemdWord,
  unitFiles,
} from "./service-units.js";

const input = {
  user: "rekey",
  nodePath: process.execPath,
  entryScript: realpathSync(BIN),
  configFile: "/etc/rekey/gateway.json",
  keyFile: "/etc/rekey/vault.key",
};

/** `Key=value` lines of a unit (comments and sections left out). */
const settings = (text: string) =>
  text
    .split("\n")
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const);

test("gateway unit: the hardening settings, credentials for the key file, no MemoryDenyWriteExecute", () => {
  const { text } = gatewayService(input);
  const s = new Map<string, string[]>();
  for (const [k, v] of settings(text)) s.set(k, [...(s.get(k) ?? []), v]);
  const one = (k: string) => s.get(k)?.join(" | ");
  assert.equal(
    one("ExecStart"),
    `${process.execPath} ${input.entryScript} gateway --config /etc/rekey/gateway.json`,
  );
  for (const [k, v] of [
    ["User", "rekey"],
    ["NoNewPrivileges", "yes"],
    ["ProtectSystem", "strict"],
    ["ProtectHome", "yes"],
    ["PrivateTmp", "yes"],
    ["StateDirectory", "rekey"],
    ["ReadWritePaths", "/var/lib/rekey"],
    ["Restart", "on-failure"],
    ["RestartSec", "30s"],
    ["CapabilityBoundingSet", ""],
    ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"],
    ["LockPersonality", "yes"],
    ["SystemCallFilter", "@system-service"],
    ["UMask", "0077"],
    ["LoadCredential", "rekey-vault-key:/etc/rekey/vault.key"],
    ["EnvironmentFile", "-/etc/rekey/gateway.env"],
  ] as const)
    assert.equal(one(k), v, k);
  assert.deepEqual(s.get("Environment"), ["REKEY_HOME=%S/rekey", "REKEY_KEY_FILE=%d/rekey-vault-key"]);
  assert.equal(s.has("MemoryDenyWriteExecute"), false, "Node's JIT needs W^X off");
  assert.match(text, /# MemoryDenyWriteExecute is deliberately not set: Node's V8 JIT/);
});

test("timer mode: a oneshot gateway --once and a 5-minute persistent timer", () => {
  const { files, enable } = unitFiles(input, true);
  assert.deepEqual(
    files.map((f) => f.name),
    ["rekey-gateway-once.service", "rekey-gateway-once.timer"],
  );
  assert.equal(enable, "rekey-gateway-once.timer");
  const once = new Map(settings(onceService(input).text));
  assert.equal(once.get("Type"), "oneshot");
  assert.match(once.get("ExecStart") ?? "", / gateway --config \/etc\/rekey\/gateway.json --once$/);
  assert.equal(once.has("Restart"), false);
  const timer = new Map(settings(onceTimer().text));
  assert.equal(timer.get("OnCalendar"), "*:0/5");
  assert.equal(timer.get("Persistent"), "true");
  assert.equal(timer.get("Unit"), "rekey-gateway-once.service");
});

test("a rekey installed under /home gets ProtectHome=read-only (yes would hide it)", () => {
  const text = gatewayService({ ...input, entryScript: "/home/ops/rekey/bin/rekey.js" }).text;
  assert.match(text, /^ProtectHome=read-only$/m);
  assert.doesNotMatch(text, /^ProtectHome=yes$/m);
});

test("bad user names and paths are refused; a path with a space is quoted", () => {
  for (const u of ["root", "a b", "x;rm", "", "-rf"]) assert.throws(() => checkUserName(u), /--user/, u);
  assert.equal(checkUserName("rekey-gw"), "rekey-gw");
  assert.equal(systemdWord("/opt/my rekey/bin/rekey.js", "p"), `"/opt/my rekey/bin/rekey.js"`);
  for (const p of ["/opt/a\nExecStartPre=/bin/sh", "/opt/%n", "/opt/$HOME", '/opt/"x'])
    assert.throws(() => systemdWord(p, "p"));
});

const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const haveAnalyze = analyze.status === 0;

test("systemd-analyze verify accepts the generated units (and rejects a broken one)", {
  skip: !haveAnalyze && "systemd-analyze is not installed",
}, () => {
  const verify = (files: Array<{ name: string; text: string }>) => {
    const dir = mkdtempSync(join(tmpdir(), "rekey-units-"));
    for (const f of files) writeFileSync(join(dir, f.name), f.text);
    return spawnSync("systemd-analyze", ["verify", "--man=no", ...files.map((f) => join(dir, f.name))], {
      encoding: "utf8",
      cwd: dir,
      timeout: 60_000,
    });
  };
  for (const timer of [false, true]) {
    const r = verify(unitFiles(input, timer).files);
    assert.equal(r.status, 0, `${timer ? "timer" : "service"}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /ignoring|Unknown|Failed/i, r.stderr);
  }
  const broken = gatewayService(input);
  const bad = verify([
    { name: broken.name, text: broken.text.replace("Restart=on-failure", "Restart=sometimes") },
  ]);
  assert.match(bad.stderr, /restart specifier/, "the check can fail");
});
