/**
 * Entry of the single-file bundle `dist/keeper/rekey-aws-access-key.cjs`: the script the Keeper Gateway runs
 * with script command `node` (it needs nothing installed beside Node). Also what `rekey keeper-script` runs.
 *
 *   echo BASE64_LINE | node rekey-aws-access-key.cjs [--ksm-config PATH] [--json]
 *
 * Exit code 0 only when every step succeeded; 2 for bad input (before any Keeper or AWS call); otherwise the
 * CLI's codes (errors.ts). Output: key ids, the record UID and revision; never a secret.
 *
 * Its import graph must stay free of the SQLite vault (a native addon cannot be bundled): it reaches the vault
 * only through stores/keeper/ksm-store.ts.
 */
import "./node-version.js"; // first: exits on a too-old Node.js before anything else loads
import { parseArgs } from "node:util";
import { RekeyError, usageError } from "../errors.js";
import { parseGatewayParams, readFirstLine } from "../pam-protocol/gateway-params.js";
import { formatScriptError, STDIN_TIMEOUT_MS } from "./script-output.js";

const USAGE = `usage: node rekey-aws-access-key.cjs [--ksm-config PATH] [--json] [--transactional-save]
       node rekey-aws-access-key.cjs --check [--record UID] [--ksm-config PATH] [--json]
Reads the Keeper Gateway's base64 line on stdin, rotates the IAM user's access key and saves it in the PAM
User record. KSM config: --ksm-config, else KSM_CONFIG_FILE, else GATEWAY_CONFIG (base64), else the Keeper
Gateway's file (/etc/keeper-gateway/gateway-config.json, then ~/.keeper/gateway-config.json).
--transactional-save: save inside a KSM rotation transaction (default: a plain update, as the seed's script).
--check: prove what a rotation needs (Keeper, the record, the admin credentials, iam:ListAccessKeys, the
2-key limit) and change nothing; the line on stdin, or --record UID. Exit 0 when no check failed, else 1.
`;

async function main(argv: string[]): Promise<number> {
  let values: {
    "ksm-config"?: string | undefined;
    json?: boolean | undefined;
    help?: boolean | undefined;
    check?: boolean | undefined;
    record?: string | undefined;
    "transactional-save"?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "ksm-config": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        check: { type: "boolean" },
        record: { type: "string" },
        "transactional-save": { type: "boolean" },
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
  if (values.record && !values.check) {
    process.stderr.write(
      `${formatScriptError(usageError("--record goes with --check", USAGE.split("\n")[0]))}\n`,
    );
    return 2;
  }
  if (values.check) {
    try {
      const line = values.record
        ? undefined
        : await readFirstLine(process.stdin, { timeoutMs: STDIN_TIMEOUT_MS });
      if (line !== undefined) parseGatewayParams(line);
      const { checkKeeperScript, renderChecks, checkExitCode } = await import("./script-check.js");
      const lines = await checkKeeperScript(line !== undefined ? { line } : { recordUid: values.record! }, {
        ksmConfig: values["ksm-config"],
        env: process.env,
      });
      process.stdout.write(values.json ? `${JSON.stringify(lines, null, 2)}\n` : renderChecks(lines));
      return checkExitCode(lines);
    } catch (err) {
      process.stderr.write(`${formatScriptError(err)}\n`);
      return err instanceof RekeyError ? err.exitCode : 1;
    }
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
      transactionalSave: values["transactional-save"],
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
// No top-level await: the bundle is CommonJS (any file name runs it, and so does the single executable).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
