/**
 * Every environment variable rekey reads, in one schema: its meaning, its type, its check. `readEnv` parses
 * an environment once (memoized per environment object) and returns typed values; a bad value is a usage
 * error naming the variable (never its value: some are secrets). The CLI parses at start-up, so a typo in
 * REKEY_LOG_LEVEL or a negative REKEY_GATEWAY_TICK_SECONDS stops every command before it does anything.
 *
 * Test-only variables (REKEY_TEST_*, REKEY_CHAOS_SEED, REKEY_PG_BIN) are declared too, so that
 * `env.test.ts` can prove that no part of rekey reads a variable this schema does not list.
 */
import { usageError } from "./errors.js";

type Parse<T> = (value: string) => T;

interface Variable<T> {
  description: string;
  parse: Parse<T>;
}

/** Checks that return the typed value or throw a message (the caller names the variable). */
const text: Parse<string> = (v) => v;
const number =
  (min: number, max = Number.POSITIVE_INFINITY, integer = false): Parse<number> =>
  (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new Error(
        `expected a${integer ? " whole" : ""} number from ${min}${max < Infinity ? ` to ${max}` : ""}`,
      );
    return n;
  };
const oneOf =
  <const T extends string>(...allowed: T[]): Parse<T> =>
  (v) => {
    if ((allowed as string[]).includes(v)) return v as T;
    throw new Error(`expected one of ${allowed.join(", ")}`);
  };
const flag: Parse<boolean> = (v) => {
  if (["1", "true", "yes"].includes(v.toLowerCase())) return true;
  if (["0", "false", "no"].includes(v.toLowerCase())) return false;
  throw new Error("expected 1 or 0 (true/false, yes/no)");
};
const v = <T>(description: string, parse: Parse<T>): Variable<T> => ({ description, parse });

/** The variables, with what each is for. */
export const ENV_VARIABLES = {
  // The vault
  REKEY_HOME: v("rekey's directory (default ~/.rekey): the local vault, Keeper state", text),
  REKEY_VAULT: v(
    "the vault: a SQLite path (default $REKEY_HOME/vault.db), keeper:CONFIG, postgres://...",
    text,
  ),
  REKEY_KEY_FILE: v("a key file that unlocks the vault without the passphrase", text),
  REKEY_PASSPHRASE: v("the vault passphrase (taken out of the process environment at start-up)", text),
  REKEY_EXPECT_HEAD_FILE: v("a file holding the vault head every command checks (rollback detection)", text),
  REKEY_KEEPER_STATE: v("the Keeper vault's local state directory", text),
  KSM_CONFIG_FILE: v("the KSM config file of a Keeper vault", text),
  GATEWAY_CONFIG: v("the Keeper Docker Gateway's base64 KSM config", text),
  // Logging
  REKEY_LOG_LEVEL: v(
    "the log level on stderr (default warn)",
    oneOf("trace", "debug", "info", "warn", "error", "fatal", "silent"),
  ),
  REKEY_DEBUG: v("print stack traces of internal errors", flag),
  REKEY_LISTING_CACHE: v(
    "0 turns off the listing cache of record list and status ($REKEY_HOME/cache/listing; default on)",
    flag,
  ),
  REKEY_PROGRESS_DELAY_MS: v(
    "how long long work runs before its progress line appears on a terminal (default 250)",
    number(0, 60_000, true),
  ),
  // AWS
  REKEY_ALLOW_INSECURE_ENDPOINT: v("allow a plain-http AWS endpoint off loopback", flag),
  REKEY_LAST_USE_RESOLUTION_MS: v(
    "how precisely the IAM endpoint reports last use (default 60000: AWS, to the minute)",
    number(1, 60_000, true),
  ),
  // The gateway (its JSON config < these < flags)
  REKEY_GATEWAY_CONFIG: v("the gateway's JSON config file", text),
  REKEY_GATEWAY_TICK_SECONDS: v("how often the gateway reads the vault", number(Number.MIN_VALUE)),
  REKEY_GATEWAY_MAX_CONCURRENT: v("rotations at once overall", number(1, Infinity, true)),
  REKEY_GATEWAY_MAX_PER_ACCOUNT: v("rotations at once per AWS account", number(1, Infinity, true)),
  REKEY_GATEWAY_JITTER_SECONDS: v("the spread of scheduled runs", number(0)),
  REKEY_GATEWAY_WEBHOOK_URL: v("a webhook for rotation events (a secret for Slack)", text),
  REKEY_GATEWAY_WEBHOOK_FORMAT: v("that webhook's body format", oneOf("json", "slack")),
  REKEY_API_TOKEN: v("the bearer token of the gateway's HTTP API (`gateway --listen`)", text),
  // The sandbox
  REKEY_SANDBOX_ADMIN_TOKEN: v("the sandbox admin endpoint's token", text),
  REKEY_SANDBOX_ROOT_KEY_ID: v("the sandbox root user's access key id", text),
  REKEY_SANDBOX_ROOT_SECRET: v("the sandbox root user's secret", text),
  // Tests only
  REKEY_TEST_HOOKS: v("tests: the switch file that enables the crash hook", text),
  REKEY_TEST_CRASH_AT: v("tests: the step at which the crash hook kills the process", text),
  REKEY_TEST_CONSISTENCY_MS: v("tests: IAM's consistency window in the crash child", number(0)),
  REKEY_CHAOS_SEED: v("tests: the chaos test's seed", text),
  REKEY_PG_BIN: v("tests: where PostgreSQL's binaries are", text),
} as const;

type Vars = typeof ENV_VARIABLES;
export type RekeyEnv = { [K in keyof Vars]?: Vars[K] extends Variable<infer T> ? T : never };

/** The names the schema declares. */
export const ENV_NAMES = Object.keys(ENV_VARIABLES) as Array<keyof Vars>;

const parsed = new WeakMap<object, RekeyEnv>();

/**
 * The environment's rekey variables, typed and checked (once per environment object). Unknown variables
 * are ignored; an empty value counts as unset.
 *
 * @example
 * const { REKEY_LOG_LEVEL = "warn" } = readEnv(ctx.env);
 */
export function readEnv(env: Record<string, string | undefined>): RekeyEnv {
  const cached = parsed.get(env);
  if (cached) return cached;
  const out: Record<string, unknown> = {};
  for (const name of ENV_NAMES) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const variable = ENV_VARIABLES[name] as Variable<unknown>;
    try {
      out[name] = variable.parse(value);
    } catch (err) {
      // Never the value: some variables are secrets.
      throw usageError(
        `environment variable ${name} is not valid: ${(err as Error).message}`,
        `${name} is ${variable.description}; fix or unset it`,
      );
    }
  }
  parsed.set(env, out as RekeyEnv);
  return out as RekeyEnv;
}
