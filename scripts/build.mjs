// Builds:
// 1. dist/cli/main.cjs: the CLI, one CommonJS file that bin/rekey.js runs through a V8 code cache
//    (dist/cli/start.cjs, src/code-cache/run.ts: Node 20 caches no ES module's compiled code). Commands still
//    load lazily: esbuild turns each `await import()` of the sources into a module initialized on first use.
//    better-sqlite3 stays external: it is a native addon.
// 2. dist/keeper/rekey-aws-access-key.cjs: the Keeper Gateway's post-rotation script, ONE file with every
//    dependency inlined (the Gateway runs it with plain `node`, no node_modules beside it). Its import graph
//    must not reach the SQLite vault: the build fails if it does. It runs under ANY file name: see below.
//    The script proper is a string inside it, compiled through the same code cache (script-loader.ts), keyed
//    by its SHA-256 computed here.
// 3. With --sea (`npm run build`, not the test runner's rebuild): dist/keeper/rekey-aws-access-key-linux-x64,
//    the same script as a Node.js single executable (scripts/build-sea.mjs).
import { isAscii } from "node:buffer";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join } from "node:path";
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
  const outputs = ["dist/cli/main.cjs", "dist/cli/start.cjs", "dist/keeper/rekey-aws-access-key.cjs"];
  if (!outputs.every((f) => existsSync(f))) return false;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = Math.max(
    newest("src"),
    statSync("package.json").mtimeMs,
    statSync("scripts/build.mjs").mtimeMs,
    statSync("bin/rekey.js").mtimeMs,
  );
  return built >= inputs;
}

// Stale chunks from an earlier build would only waste disk: start clean.
rmSync("dist/cli", { recursive: true, force: true });
rmSync("dist/keeper", { recursive: true, force: true });

const common = {
  bundle: true,
  platform: "node",
  mainFields: ["module", "main"],
  target: "node20",
  legalComments: "none",
  logLevel: "warning",
  sourcemap: false,
  // Smaller to read from disk, to hash (the code cache's key) and to parse on a first run; names stay readable
  // in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
};

// `await import("node:http")` (the AWS SDK does it) would need a dynamic-import hook: code compiled through
// vm.Script (the code cache) has none, nor has a single executable's main script on Node 20. Load built-ins
// imported that way through require instead, and the one optional package an SDK probes that way
// (proxy-agent-negotiate's `kerberos`, external: not installed, it fails with its own message).
const OPTIONAL_DYNAMIC = ["kerberos"];
const builtinDynamicImports = {
  name: "builtin-dynamic-imports",
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (args.namespace === "builtin-require") return { path: args.path, external: true };
      return args.kind === "dynamic-import" && (isBuiltin(args.path) || OPTIONAL_DYNAMIC.includes(args.path))
        ? { path: args.path, namespace: "builtin-require" }
        : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: "builtin-require" }, (args) => ({
      loader: "js",
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
    }));
  },
};

// `import { IAMClient, CreateAccessKeyCommand } from "@aws-sdk/client-iam"` names the package's index, which
// re-exports its ~170 commands. Code-split ESM output tree-shook the rest away; in a CommonJS bundle, where
// a module imported lazily is wrapped to be initialized on first use, esbuild keeps and initializes every
// re-export (a rotation ran ~270 SDK command modules). So such an import is resolved to a module re-exporting
// just the names imported, from their own files (`XClient.js`, `commands/XCommand.js`); an import naming
// anything else keeps the index.
const SDK_CLIENTS = /^@aws-sdk\/client-(?:iam|sts)$/;
function importedNames(source, pkg) {
  const names = new Set();
  const re = /import\s*(type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/g;
  for (const m of source.matchAll(re)) {
    if (m[3] !== pkg || m[1]) continue;
    for (const spec of m[2].split(",")) {
      const name = spec.trim();
      if (name && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0]);
    }
  }
  return [...names];
}
const sdkSlimImports = {
  name: "sdk-slim-imports",
  setup(b) {
    b.onResolve({ filter: SDK_CLIENTS }, async (args) => {
      if (args.pluginData?.index || !/\.[cm]?[jt]s$/.test(args.importer)) return undefined;
      const names = importedNames(readFileSync(args.importer, "utf8"), args.path);
      const index = await b.resolve(args.path, {
        resolveDir: args.resolveDir,
        kind: args.kind,
        pluginData: { index: true },
      });
      if (index.errors.length > 0) return undefined;
      const dir = dirname(index.path);
      const files = names.map((n) =>
        /Client$/.test(n) ? join(dir, `${n}.js`) : join(dir, "commands", `${n}.js`),
      );
      if (names.length === 0 || !files.every((f) => existsSync(f))) return undefined;
      return {
        path: `${args.path}:${names.join(",")}`,
        namespace: "sdk-slim",
        pluginData: { names, files, dir },
      };
    });
    b.onLoad({ filter: /.*/, namespace: "sdk-slim" }, (args) => ({
      loader: "js",
      resolveDir: args.pluginData.dir,
      contents: args.pluginData.names
        .map((n, i) => `export { ${n} } from ${JSON.stringify(args.pluginData.files[i])};`)
        .join("\n"),
    }));
  },
};

const cli = await build({
  ...common,
  format: "cjs",
  plugins: [builtinDynamicImports, sdkSlimImports],
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli/main.cjs",
  external: ["better-sqlite3"],
  metafile: true,
});
const stray = Object.values(cli.metafile.outputs).flatMap((o) =>
  o.imports.filter((i) => i.kind === "dynamic-import"),
);
if (stray.length > 0) {
  throw new Error(
    `the CLI bundle keeps a dynamic import() (no hook for it under vm.Script): ${stray.map((i) => i.path)}`,
  );
}
// start.ts reads the bundle as latin1 (a copy, where utf8 is a decode): right only while it is ASCII, as
// esbuild's default `charset: "ascii"` writes it (it escapes everything else).
const mainBundle = readFileSync("dist/cli/main.cjs");
if (!isAscii(mainBundle)) throw new Error("dist/cli/main.cjs is not ASCII (start.ts reads it as latin1)");
// The bundle's SHA-256, written into start.cjs: the code cache's key, without hashing 2.8 MB at every start
// (both files come from this one build; a rebuilt bundle has another digest, so another cache file).
await build({
  ...common,
  format: "cjs",
  entryPoints: ["src/cli/start.ts"],
  outfile: "dist/cli/start.cjs",
  define: { REKEY_BUNDLE_SHA256: JSON.stringify(createHash("sha256").update(mainBundle).digest("hex")) },
});

// Named .cjs: Node runs it as a plain script, without setting up its ES module loader (about 4 ms of every
// start); the text is valid as either (below), so a Gateway that renames it changes nothing else.
const KEEPER_SCRIPT = "dist/keeper/rekey-aws-access-key.cjs";
// The name of earlier builds, removed so that nobody attaches a stale copy.
rmSync("dist/keeper/rekey-aws-access-key.mjs", { force: true });

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

// The script proper (the payload), built in memory: the file written is script-loader.ts carrying it,
// compiled through the code cache. Both parts carry the banner: the loader's require loads vm and fs, the
// payload's (a function body: its own `var require`) everything else.
const keeper = await build({
  ...common,
  format: "cjs",
  banner: { js: keeperBanner.replace(/^#!.*\n/, "") },
  plugins: [builtinDynamicImports, sdkSlimImports],
  entryPoints: ["src/keeper-script/script-main.ts"],
  outfile: KEEPER_SCRIPT,
  write: false,
  external: [],
  metafile: true,
  // Local names minified too (1.1 MB -> 0.7 MB): a Gateway reads, scans (the carrier comment) and copies the
  // payload at every start, and it deserializes its code cache: ~3-4 ms of each run. The script prints
  // messages, never a stack trace (script-output.ts); errors and classes keep the names their code sets.
  minifyIdentifiers: true,
});
const forbidden = Object.keys(keeper.metafile.inputs).filter((p) =>
  /(?:^|\/)(?:stores\/sqlite\/|better-sqlite3\/)/.test(p),
);
if (forbidden.length > 0) {
  rmSync(KEEPER_SCRIPT, { force: true });
  throw new Error(`the Keeper script bundle must not include the SQLite vault: ${forbidden.join(", ")}`);
}
// The payload rides in a comment, read back with Function.prototype.toString (src/keeper-script/
// payload-carrier.ts: V8 skips a comment far faster than it scans a 1 MB string literal, at every start).
const CARRIER_CLOSE = "*\\rekey-close\\/";
const payload = keeper.outputFiles[0].text;
if (payload.includes(CARRIER_CLOSE))
  throw new Error(`the Keeper payload contains ${CARRIER_CLOSE}: pick another`);
const loader = await build({
  ...common,
  format: "cjs",
  banner: { js: keeperBanner },
  entryPoints: ["src/keeper-script/script-loader.ts"],
  outfile: KEEPER_SCRIPT,
  write: false,
  define: {
    REKEY_CARRIER_CLOSE: JSON.stringify(CARRIER_CLOSE),
    // The code cache's key (code-cache/format.ts): hashed here once, not at every start of the script.
    REKEY_PAYLOAD_SHA256: JSON.stringify(createHash("sha256").update(payload, "utf8").digest("hex")),
  },
});
const loaderText = loader.outputFiles[0].text;
if (loaderText.split("REKEY_KEEPER_CARRIER").length !== 2) {
  throw new Error("script-loader.ts must name REKEY_KEEPER_CARRIER exactly once");
}
mkdirSync("dist/keeper", { recursive: true });
writeFileSync(
  KEEPER_SCRIPT,
  loaderText.replace(
    "REKEY_KEEPER_CARRIER",
    () => `(function(){/*${payload.replaceAll("*/", CARRIER_CLOSE)}*/})`,
  ),
);

// The executable copies the 100 MB node binary: `npm run build` makes it, the test runner's rebuild does not
// (sea.test.ts builds its own once).
if (process.argv.includes("--sea")) {
  const sea = spawnSync(process.execPath, ["scripts/build-sea.mjs"], { stdio: "inherit" });
  if (sea.status !== 0) process.exit(sea.status ?? 1);
}
