/**
 * What bin/rekey.js runs (built to dist/cli/start.cjs): the CLI bundle, dist/cli/main.cjs, compiled through
 * the code cache (code-cache/run.ts), one cache per command (a gateway spawning `rekey rotate` again and
 * again reuses exactly what the last rotation compiled).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { cliCacheName } from "../code-cache/format.js";
import { compileWithCodeCache } from "../code-cache/run.js";
import { VERSION } from "./version.js";

/** The bundle's SHA-256, written in by scripts/build.mjs (absent when this file runs unbundled, in tests). */
declare const REKEY_BUNDLE_SHA256: string | undefined;

/** Runs the CommonJS bundle `bundle` (an absolute path) as Node would, with its compiled code cached. */
export function startCli(bundle: string, argv: readonly string[] = process.argv.slice(2)): void {
  // `rekey --version` alone, as commander prints it, without reading the bundle (scripts and shells ask it).
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  // latin1, not utf8: the bundle is ASCII (esbuild escapes the rest; scripts/build.mjs checks it), so both read
  // the same text, and latin1 is a plain copy where utf8 is a decode (~2 ms of every start for 2.7 MB), and the
  // key's hash then reads the string's bytes as they are (format.ts).
  const { fn } = compileWithCodeCache(readFileSync(bundle, "latin1"), {
    name: cliCacheName(argv),
    filename: bundle,
    env: process.env,
    sourceEncoding: "latin1",
    // Only for the bundle the build hashed, beside this file (bin/rekey.js runs that one); any other is
    // hashed here.
    sourceSha256:
      typeof REKEY_BUNDLE_SHA256 === "string" && bundle === join(__dirname, "main.cjs")
        ? REKEY_BUNDLE_SHA256
        : undefined,
    params: ["exports", "require", "module", "__filename", "__dirname"],
  });
  const module = { exports: {} };
  // better-sqlite3 (a native addon, not bundled) is required from the bundle's own place.
  fn.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
}
