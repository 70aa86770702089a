// Builds two things:
// 1. dist/cli/: the CLI (ESM, code-split so each command loads only what it needs). better-sqlite3 stays
//    external: it is a native addon.
// 2. dist/keeper/rekey-aws-access-key.mjs: the Keeper Gateway's post-rotation script, ONE file with every
//    dependency inlined (the Gateway runs it with plain `node`, no node_modules beside it). Its import graph
//    must not reach the SQLite vault: the build fails if it does. It runs under ANY file name: see below.
// 3. With --sea (`npm run build`, not the test runner's rebuild): dist/keeper/rekey-aws-access-key-linux-x64,
//    the same script as a Node.js single executable (scripts/build-sea.mjs).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { build } from "esbuild";

// `prepare` (npm ci) builds with --if-stale. npm also runs `prepare` when it links this checkout, as the
// first `npx rekey` inside it does: a rebuild then would delete dist/cli under processes running from it
// (the test suite's CLI tests). An up-to-date build is left alone.
if (process.argv.includes("--if-stale") && upToDate()) process.exit(0);

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function upToDate() {
  const outputs = ["dist/cli/main.js", "dist/keeper/rekey-aws-access-key.mjs"];
  if (!outputs.every((f) => existsSync(f))) return false;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = Math.max(
    newest("src"),
    statSync("package.json").mtimeMs,
    statSync("scripts/build.mjs").mtimeMs,
  );
  return built >= inputs;
}

// Stale chunks from an earlier build would only waste disk: start clean.
rmSync("dist/cli", { recursive: true, force: true });
rmSync("dist/keeper", { recursive: true, force: true });

// Bundled CommonJS dependencies call require() for Node built-ins: give ESM output a real one.
const banner = [
  'import { createRequire as __rekeyCreateRequire } from "node:module";',
  "const require = __rekeyCreateRequire(import.meta.url);",
].join("\n");

const common = {
  bundle: true,
  format: "esm",
  platform: "node",
  mainFields: ["module", "main"],
  target: "node20",
  banner: { js: banner },
  legalComments: "none",
  logLevel: "warning",
  sourcemap: false,
};

await build({
  ...common,
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/cli",
  splitting: true,
  external: ["better-sqlite3"],
  chunkNames: "chunks/[name]-[hash]",
});

const KEEPER_SCRIPT = "dist/keeper/rekey-aws-access-key.mjs";

// The Gateway may store and run the script under any name (`node x.tmp`, `node script`, `./script`), and Node
// picks the module system from the extension: .mjs (or .js under a "type": "module" package.json) is ESM,
// anything else CommonJS, and an unknown extension holding ESM syntax fails with ERR_UNKNOWN_FILE_EXTENSION.
// So the bundle is written to be valid as both: CommonJS output (no import/export statement, no top-level
// await), strict as ESM always is, and its own `require`. Everything but Node built-ins is inlined, so that
// require loads built-ins only (process.getBuiltinModule, Node >= 20.16) and, for the optional packages some
// SDKs probe in a try/catch, throws MODULE_NOT_FOUND as a lone file's require would: the same under every
// name, never a package that happens to sit in a node_modules above the script, and no warning from a single
// executable's require (build-sea.mjs: this file is its CommonJS main). Lazy, so that node-version.ts (the
// entry's first import) still reports a Node.js too old to have getBuiltinModule.
const keeperBanner = [
  "#!/usr/bin/env node",
  '"use strict";',
  "var require = (id) => {",
  "  const m = process.getBuiltinModule(id);",
  "  if (m !== undefined) return m;",
  `  throw Object.assign(new Error("Cannot find module '" + id + "'"), { code: "MODULE_NOT_FOUND" });`,
  "};",
].join("\n");

// `await import("node:http")` (the AWS SDK does it) needs a dynamic-import hook that a single executable's
// main script does not have on Node 20: load built-ins imported that way through require instead.
const keeperBuiltinDynamicImports = {
  name: "keeper-builtin-dynamic-imports",
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      args.kind === "dynamic-import" && isBuiltin(args.path)
        ? { path: args.path, namespace: "builtin-require" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "builtin-require" }, (args) => ({
      loader: "js",
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
    }));
  },
};

const keeper = await build({
  ...common,
  format: "cjs",
  banner: { js: keeperBanner },
  plugins: [keeperBuiltinDynamicImports],
  entryPoints: ["src/keeper-script/script-main.ts"],
  outfile: KEEPER_SCRIPT,
  external: [],
  // Smaller to read from disk and to parse at every cold start; names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
});
const forbidden = Object.keys(keeper.metafile.inputs).filter((p) =>
  /(?:^|\/)(?:stores\/sqlite\/|better-sqlite3\/)/.test(p),
);
if (forbidden.length > 0) {
  rmSync(KEEPER_SCRIPT, { force: true });
  throw new Error(`the Keeper script bundle must not include the SQLite vault: ${forbidden.join(", ")}`);
}

// The executable copies the 100 MB node binary: `npm run build` makes it, the test runner's rebuild does not
// (sea.test.ts builds its own once).
if (process.argv.includes("--sea")) {
  const sea = spawnSync(process.execPath, ["scripts/build-sea.mjs"], { stdio: "inherit" });
  if (sea.status !== 0) process.exit(sea.status ?? 1);
}
