/**
 * The outside of the single-file Keeper script (dist/keeper/rekey-aws-access-key.mjs). The script proper
 * (script-main.ts and all it imports, bundled) is carried in it as one string, compiled through the code
 * cache (code-cache/run.ts): a Gateway running the script once per rotation then deserializes compiled code
 * instead of parsing the AWS and KSM SDKs again. The cache lives in the user's cache directory, never beside
 * the script (the Gateway stores it where it likes, possibly read-only). scripts/build.mjs fills in the string.
 */
import "./node-version.js"; // first: a too-old Node.js is told so before anything else runs
import { compileWithCodeCache } from "../code-cache/run.js";

declare const REKEY_KEEPER_PAYLOAD: string;

compileWithCodeCache(REKEY_KEEPER_PAYLOAD, {
  name: "keeper-script",
  filename: process.argv[1] ?? "rekey-aws-access-key",
  env: process.env,
  params: [],
}).fn();
