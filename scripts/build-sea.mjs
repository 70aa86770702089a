// Builds dist/keeper/rekey-aws-access-key-linux-x64: the Keeper script (dist/keeper/rekey-aws-access-key.cjs,
// built by scripts/build.mjs) as a Node.js single executable application, for a Gateway host without Node.js.
// It is this machine's `node` binary (~100 MB) with the script injected as its main:
//   node --experimental-sea-config sea-config.json   (the blob: the script + its loader's V8 code cache)
//   cp $(command -v node) BIN
//   postject BIN NODE_SEA_BLOB blob --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2
// On Node 20 the SEA main must be a CommonJS script that requires only built-ins: the Keeper bundle is one
// (see build.mjs). Linux only: macOS and Windows binaries are signed and need signature steps not done here.
//
//   node scripts/build-sea.mjs [--script FILE] [--out FILE]
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const SENTINEL_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const POSTJECT_CLI = createRequire(import.meta.url).resolve("postject/dist/cli.js");
const { values } = parseArgs({
  options: {
    script: { type: "string", default: "dist/keeper/rekey-aws-access-key.cjs" },
    out: { type: "string", default: `dist/keeper/rekey-aws-access-key-${process.platform}-${process.arch}` },
  },
});
const script = resolve(values.script);
const out = resolve(values.out);

if (process.platform !== "linux") {
  console.error(`build-sea: only Linux executables are built (this is ${process.platform})`);
  process.exit(1);
}
if (!existsSync(script)) {
  console.error(`build-sea: ${values.script} is missing: run \`node scripts/build.mjs\` first`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), "rekey-sea-"));
try {
  // A private copy: a concurrent rebuild of dist/ cannot change the script between blob and inject.
  copyFileSync(script, join(work, "main.cjs"));
  writeFileSync(
    join(work, "sea-config.json"),
    JSON.stringify({
      main: "main.cjs",
      output: "sea-prep.blob",
      // The script's output is what the Gateway stores: no "experimental feature" line on stderr.
      disableExperimentalSEAWarning: true,
      // Compiled code in the blob for the script's loader (src/keeper-script/script-loader.ts). The payload it
      // carries is compiled through the user's code cache, as under plain `node`: that cache is taken after a
      // run, so it holds the functions a rotation compiles lazily, which a build-time cache cannot (measured
      // side by side, under load: 556 ms a rotation this way, 609 ms with the payload as the blob's main).
      useCodeCache: true,
    }),
  );
  const blob = spawnSync(process.execPath, ["--experimental-sea-config", "sea-config.json"], {
    cwd: work,
    encoding: "utf8",
  });
  if (blob.status !== 0) {
    process.stderr.write(`${blob.stdout}${blob.stderr}`);
    throw new Error(`node --experimental-sea-config failed (exit ${blob.status})`);
  }

  const bin = join(work, "rekey-aws-access-key");
  copyFileSync(process.execPath, bin); // keeps the mode (0755); Linux binaries carry no signature to remove
  // postject's ELF library prints harmless warnings about node's .note sections: shown only on failure.
  const injected = spawnSync(
    process.execPath,
    [POSTJECT_CLI, bin, "NODE_SEA_BLOB", "sea-prep.blob", "--sentinel-fuse", SENTINEL_FUSE],
    { cwd: work, encoding: "utf8" },
  );
  if (injected.status !== 0) {
    process.stderr.write(`${injected.stdout}${injected.stderr}`);
    throw new Error(`postject failed (exit ${injected.status})`);
  }
  mkdirSync(dirname(out), { recursive: true });
  rmSync(out, { force: true });
  copyFileSync(bin, `${out}.tmp`);
  renameSync(`${out}.tmp`, out); // never a half-written executable under the final name
  const shown = relative(process.cwd(), out);
  console.log(`build-sea: wrote ${shown.startsWith("..") ? out : shown}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
