/**
 * rekey's logger: pino, JSON lines to stderr, level from REKEY_LOG_LEVEL (default "warn" for the CLI).
 * Secret-bearing keys are redacted wherever they appear (two levels deep), and Secret values print
 * as "[REDACTED]" by themselves. Pass `destination` to capture logs (tests assert no secret leaks).
 */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Field names that may carry secrets; censored in every log line. */
export const REDACT_KEYS = [
  "secret",
  "secretAccessKey",
  "SecretAccessKey",
  "aws_secret_access_key",
  "accessSecretKey",
  "sessionToken",
  "SessionToken",
  "password",
  "newPassword",
  "oldPassword",
  "passphrase",
  "token",
  "authorization",
  "Authorization",
];

const paths = REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(
  opts: { level?: string; destination?: DestinationStream; name?: string } = {},
): Logger {
  const level = opts.level ?? process.env.REKEY_LOG_LEVEL ?? "warn";
  return pino(
    {
      name: opts.name ?? "rekey",
      level,
      redact: { paths, censor: "[REDACTED]" },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (library default when the caller passes none). */
export const silentLogger: Logger = pino({ level: "silent" });
