// Builds two things:
// 1. dist/cli/: the CLI (ESM, code-split so each command loads only what it needs). better-sqlite3 stays
//    external: it is a native addon.
// 2. dist/keeper/rekey-aws-access-key.mjs: the Keeper Gateway's post-rotation script, ONE file with every
//    dependency inlined (the Gateway runs it with plain `node`, no node_modules beside it). Its import graph
//    must not reach the SQLite vault: the build fails if it does.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
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

const keeper = await build({
  ...common,
  entryPoints: ["src/keeper/script-main.ts"],
  outfile: KEEPER_SCRIPT,
  external: [],
  // Smaller to read from disk and to parse at every cold start; names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
});
const forbidden = Object.keys(keeper.metafile.inputs).filter((p) =>
  /(?:^|\/)(?:vault\/sqlite-[^/]*|better-sqlite3\/)/.test(p),
);
if (forbidden.length > 0) {
  rmSync(KEEPER_SCRIPT, { force: true });
  throw new Error(`the Keeper script bundle must not include the SQLite vault: ${forbidden.join(", ")}`);
}
