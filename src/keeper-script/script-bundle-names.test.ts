/**
 * The Keeper script under any file name the Gateway may give it, and on a Node.js that is too old. Node picks
 * CommonJS or ESM from the extension (and an unknown one holding ESM syntax fails with
 * ERR_UNKNOWN_FILE_EXTENSION): the bundle must run as either. Each copy sits alone in a temp dir (no
 * package.json, no node_modules above it), as a Gateway's script file does.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bundleInTempDir } from "../testing/keeper-script.js";
import { MIN_NODE_VERSION, NODE_TOO_OLD_EXIT } from "./node-version.js";

const NAMES = ["script.tmp", "script", "script.js", "script.mjs", "script.cjs"];
const env = { PATH: process.env.PATH, HOME: "/nonexistent" };
let bundle: ReturnType<typeof bundleInTempDir>;

before(() => {
  bundle = bundleInTempDir();
  for (const name of NAMES) copyFileSync(bundle.script, join(bundle.dir, name));
  // Fakes an old Node.js for the script that follows: its version, and no API newer than that one has.
  writeFileSync(
    join(bundle.dir, "old-node.cjs"),
    [
      'Object.defineProperty(process, "versions", { value: { ...process.versions, node: "18.0.0" } });',
      "delete process.getBuiltinModule;",
    ].join("\n"),
  );
});
after(() => bundle?.cleanup());

const node = (args: string[], input = "") =>
  spawnSync(process.execPath, args, { cwd: bundle.dir, env, input, encoding: "utf8", timeout: 30_000 });

test("the bundle starts with a shebang and has no import/export statement or top-level await", () => {
  const text = readFileSync(bundle.script, "utf8");
  assert.ok(text.startsWith("#!/usr/bin/env node\n"));
  assert.equal(/^(?:import|export)\s.*$/m.exec(text)?.[0], undefined);
  // A Node 20 single executable has no dynamic-import hook: built-ins must be required. (An optional package
  // the bundle does not carry, tried in a try/catch, fails there as it does in the .mjs.)
  const dynamicBuiltins = [...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)]
    .map((m) => m[1] ?? "")
    .filter((id) => isBuiltin(id));
  assert.deepEqual(dynamicBuiltins, []);
});

describe("`node NAME` for any name", () => {
  for (const name of NAMES) {
    test(`${name}: --help exits 0, bad stdin exits 2 with one line`, () => {
      const help = node([name, "--help"]);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /^usage: node rekey-aws-access-key\.cjs/);
      const bad = node([name], "%%% not base64 %%%\n");
      assert.equal(bad.status, 2, bad.stderr);
      assert.equal(bad.stdout, "");
      assert.match(bad.stderr, /^rekey: the Gateway input on stdin is not base64[^\n]*\n$/);
    });
  }
});

test("`./script` through the shebang (chmod +x, no extension)", () => {
  const script = join(bundle.dir, "script");
  chmodSync(script, 0o755);
  const help = spawnSync(script, ["--help"], { cwd: bundle.dir, env, encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: /);
});

describe("a Node.js older than the minimum: one line naming the version needed, before anything loads", () => {
  for (const name of ["script.mjs", "script.tmp", "script"]) {
    test(name, () => {
      const r = node(["--require", "./old-node.cjs", name, "--help"], "%%% not base64 %%%\n");
      assert.equal(r.status, NODE_TOO_OLD_EXIT);
      assert.equal(r.stdout, "", "not even --help ran");
      assert.equal(
        r.stderr,
        `rekey: this script needs Node.js >= ${MIN_NODE_VERSION.replace(/\.0$/, "")}, but runs on Node.js 18.0.0: install a newer Node.js on the Gateway host\n`,
      );
    });
  }
});
