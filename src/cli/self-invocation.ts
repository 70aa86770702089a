/**
 * How to run this rekey again from elsewhere (an AWS profile's credential_process, a systemd unit): the
 * absolute node binary and the real path of the entry script, so the line works with no PATH and no shell.
 */
import { existsSync, realpathSync } from "node:fs";
import { RekeyError } from "../errors.js";

export function selfInvocation(): { nodePath: string; entryScript: string } {
  const script = process.argv[1];
  if (!script || !existsSync(script)) {
    throw new RekeyError("internal", "cannot tell which file started rekey (process.argv[1])", {
      hint: "run rekey as `node /path/to/bin/rekey.js` or through its installed `rekey` command",
    });
  }
  return { nodePath: process.execPath, entryScript: realpathSync(script) };
}
