/**
 * The Keeper script's Node.js version check. The Gateway host brings its own `node`; an older one would fail
 * somewhere inside the AWS or KSM SDK with a message that names neither the cause nor the fix. This module is
 * the FIRST import of the script's entry (script-main.ts), and it imports nothing, so in the bundle its body
 * runs before any other module initializes (esbuild emits modules in import order): on a Node.js older than
 * package.json's `engines` it prints one line naming the version needed and exits 2 (as for bad input: the
 * user can fix it), before anything else loads. It uses nothing an old Node.js lacks; the bundle's syntax
 * parses on Node.js 18 (esbuild's node18 output of it is identical), so 18.x and 19.x get this message.
 */

/** package.json's `engines.node` (>=20.19); node-version.test.ts keeps the two equal. */
export const MIN_NODE_VERSION = "20.19.0";

/** Exit code of a too-old Node.js: the usage code (errors.ts), since installing a newer Node fixes it. */
export const NODE_TOO_OLD_EXIT = 2;

function parts(version: string): number[] {
  return version
    .replace(/^v/, "")
    .split(/[.-]/)
    .slice(0, 3)
    .map((p) => Number.parseInt(p, 10) || 0);
}

/** The one-line message for a `version` older than `min`, or undefined when it is recent enough. */
export function nodeVersionProblem(version: string, min: string = MIN_NODE_VERSION): string | undefined {
  const have = parts(version);
  const need = parts(min);
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (h > n) return undefined;
    if (h < n) {
      return `rekey: this script needs Node.js >= ${min.replace(/\.0$/, "")}, but runs on Node.js ${version.replace(/^v/, "")}: install a newer Node.js on the Gateway host`;
    }
  }
  return undefined;
}

/** Exits the process (code 2, one line on stderr) when the running Node.js is too old. */
export function exitIfNodeTooOld(version: string = process.versions.node): void {
  const problem = nodeVersionProblem(version);
  if (problem === undefined) return;
  process.stderr.write(`${problem}\n`);
  process.exit(NODE_TOO_OLD_EXIT);
}

exitIfNodeTooOld();
