// Bundles the CLI into dist/cli/ (ESM, code-split so each command loads only what it needs).
// better-sqlite3 stays external: it is a native addon.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Stale chunks from an earlier build would only waste disk: start clean.
rmSync("dist/cli", { recursive: true, force: true });

const banner = [
  'import { createRequire as __rekeyCreateRequire } from "node:module";',
  "const require = __rekeyCreateRequire(import.meta.url);",
].join("\n");

await build({
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  mainFields: ["module", "main"],
  target: "node20",
  external: ["better-sqlite3"],
  banner: { js: banner },
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "none",
  logLevel: "warning",
  sourcemap: false,
});
