/**
 * REKEY_VAULT=postgres://USER:PASSWORD@HOST:PORT/DB (or postgresql://): recognising the URL and naming it in
 * messages without its password. Kept apart from pg-open.ts so reading REKEY_VAULT does not load `pg`.
 */
import { usageError } from "../../errors.js";

const SCHEMES = new Set(["postgres:", "postgresql:"]);

/** True when `spec` is a PostgreSQL URL (postgres:// or postgresql://). */
export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/**
 * `postgres://USER@HOST:PORT/DB[?options]`: the URL without its password, for messages (and for REKEY_VAULT
 * where the password comes from PGPASSWORD or ~/.pgpass).
 */
export function postgresDisplayName(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(
      "REKEY_VAULT is not a valid PostgreSQL URL",
      "use postgres://USER:PASSWORD@HOST:PORT/DB (percent-encode special characters in the password)",
    );
  }
  if (!SCHEMES.has(u.protocol.toLowerCase()) || !u.hostname || u.pathname.length < 2) {
    throw usageError(
      "REKEY_VAULT names a PostgreSQL vault without a host or a database",
      "use postgres://USER:PASSWORD@HOST:PORT/DB",
    );
  }
  const user = u.username ? `${u.username}@` : "";
  u.searchParams.delete("password");
  const query = u.searchParams.size > 0 ? `?${u.searchParams.toString()}` : "";
  return `postgres://${user}${u.host}${u.pathname}${query}`;
}
