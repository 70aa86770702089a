/**
 * Entry of the single-file bundle `dist/keeper/rekey-aws-access-key.mjs`: the script the Keeper Gateway runs
 * with script command `node` (it needs nothing installed beside Node). Also what `rekey keeper-script` runs.
 *
 *   echo BASE64_LINE | node rekey-aws-access-key.mjs [--ksm-config PATH] [--json]
 *
 * Exit code 0 only when every step succeeded; 2 for bad input (before any Keeper or AWS call); otherwise the
 * CLI's codes (errors.ts). Output: key ids, the record UID and revision; never a secret.
 *
 * Its import graph must stay free of the SQLite vault (a native addon cannot be bundled): it reaches the vault
 * only through keeper/ksm-store.ts.
 */
import { parseArgs } from "node:util";
import { RekeyError, usageError } from "../errors.js";
import { parseGatewayParams, readFirstLine } from "./gateway-params.js";
import { formatScriptError, STDIN_TIMEOUT_MS } from "./script-output.js";

const USAGE = `usage: node rekey-aws-access-key.mjs [--ksm-config PATH] [--json]
Reads the Keeper Gateway's base64 line on stdin, rotates the IAM user's access key and saves it in the PAM
User record. KSM config: --ksm-config, else KSM_CONFIG_FILE, else /etc/keeper-gateway/gateway-config.json.
`;

async function main(argv: string[]): Promise<number> {
  let values: { "ksm-config"?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "ksm-config": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${formatScriptError(usageError((err as Error).message, USAGE.split("\n")[0]))}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const line = await readFirstLine(process.stdin, { timeoutMs: STDIN_TIMEOUT_MS });
    // Checked before the Keeper SDK, the AWS SDK and the engine are even loaded (bad input fails fast).
    parseGatewayParams(line);
    const { renderKeeperScript, runKeeperScript } = await import("./script.js");
    // The SDK logs nothing without a logger; REKEY_LOG_LEVEL=debug turns on step logs (never secrets).
    const level = process.env.REKEY_LOG_LEVEL;
    const logger =
      level && level !== "silent" ? (await import("../log.js")).createLogger({ level }) : undefined;
    const { rotation } = await runKeeperScript(line, {
      ksmConfig: values["ksm-config"],
      env: process.env,
      logger,
    });
    process.stdout.write(
      values.json ? `${JSON.stringify(rotation, null, 2)}\n` : renderKeeperScript(rotation),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`${formatScriptError(err)}\n`);
    return err instanceof RekeyError ? err.exitCode : 1;
  }
}

// The bundle carries its own AWS SDK and supports Node >= 20.19: the SDK's Node 20 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.exitCode = await main(process.argv.slice(2));
