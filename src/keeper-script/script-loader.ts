/**
 * The outside of the single-file Keeper script (dist/keeper/rekey-aws-access-key.cjs). The script proper
 * (script-main.ts and all it imports, bundled) is carried in it as the text of a comment, compiled through the
 * code cache (code-cache/run.ts): a Gateway running the script once per rotation then deserializes compiled
 * code instead of parsing the AWS and KSM SDKs again. The cache lives in the user's cache directory, never
 * beside the script (the Gateway stores it where it likes, possibly read-only). scripts/build.mjs puts the
 * payload in place of REKEY_KEEPER_CARRIER (payload-carrier.ts).
 */
import "./node-version.js"; // first: a too-old Node.js is told so before anything else runs
import { keeperCacheName } from "../code-cache/format.js";
import { compileWithCodeCache } from "../code-cache/run.js";
import { payloadOf } from "./payload-carrier.js";

declare const REKEY_KEEPER_CARRIER: () => void;
declare const REKEY_CARRIER_CLOSE: string;
/** The payload's SHA-256 (hex), computed by the build: the cache's key without hashing 1.1 MB at each start. */
declare const REKEY_PAYLOAD_SHA256: string;

compileWithCodeCache(payloadOf(REKEY_KEEPER_CARRIER, REKEY_CARRIER_CLOSE), {
  name: keeperCacheName(process.argv.slice(2)),
  filename: process.argv[1] ?? "rekey-aws-access-key",
  env: process.env,
  params: [],
  sourceSha256: REKEY_PAYLOAD_SHA256,
}).fn();
