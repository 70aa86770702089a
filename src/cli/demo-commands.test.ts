/**
 * Issue #10, item 12: the commands the demo's closing lines print work as printed, pasted into a shell
 * in the checkout after the README's set-up (`npm ci`), with nothing else on PATH.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { rekey } from "../testing/cli.js";

const REPO = resolve(import.meta.dirname, "../..");

test("demo: every command its closing lines print exits 0 when pasted into a shell in the checkout", () => {
  const home = join(mkdtempSync(join(tmpdir(), "rekey-demo-cmds-")), "home");
  const demo = rekey(["demo", "--home", home]);
  assert.equal(demo.code, 0, demo.stderr + demo.stdout);
  const closing = demo.stdout.split("\n");
  const start = closing.findIndex((l) => l.startsWith("Look around"));
  assert.ok(start >= 0, demo.stdout);
  const commands = closing
    .slice(start + 1)
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim());
  const [setup, ...rest] = commands;
  assert.match(setup ?? "", /^export REKEY_HOME=\S+ REKEY_KEY_FILE=\S+$/);
  assert.ok(rest.length >= 3, `commands: ${commands.join(" | ")}`);
  for (const command of rest) {
    const r = spawnSync("sh", ["-c", `${setup}\n${command}`], {
      cwd: REPO,
      encoding: "utf8",
      timeout: 60_000,
      // Only what a fresh shell has. Offline: if npx did not find this checkout's bin it must fail here,
      // not fetch a package of the same name from the registry.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REKEY_LOG_LEVEL: "silent",
        npm_config_offline: "true",
      },
    });
    assert.equal(r.status, 0, `${command} exited ${r.status}: ${r.stderr}${r.stdout}`);
    assert.notEqual(r.stdout.trim(), "", `${command} printed something`);
  }
});
