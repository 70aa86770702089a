/**
 * Keeper Secrets Manager failures → rekey errors. The SDK (17.5.0) throws a plain `Error` whose message is the
 * server's error body (first 1000 characters) for any non-200 answer, a `KeeperThrottleError` once its
 * throttle retries are spent, Node's network/TLS errors as they come, and a few plain messages of its own.
 *
 * Keeper's error body is `{path, additional_info, location, error, message}`, sometimes with `result_code`
 * (the Python SDK reads `result_code` first, then `error`). The code for a stale revision is not documented:
 * rekey treats `invalid_revision`, `out_of_sync` and any code or message about a revision being out of
 * date/sync as a conflict. KeeperVault also compares revisions itself (before saving a record it has not just
 * read, and by reading the record back after a refusal it cannot classify), so a conflict is found even if
 * Keeper's wording differs.
 */
import { RekeyError } from "../../errors.js";

export interface KsmErrorBody {
  code: string | undefined;
  message: string | undefined;
}

/** The server's error body, if the SDK error carries one. */
export function parseKsmErrorBody(err: unknown): KsmErrorBody | undefined {
  const text = err instanceof Error ? err.message : typeof err === "string" ? err : undefined;
  if (!text?.trimStart().startsWith("{")) return undefined;
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const code = o.result_code ?? o.error;
    const message = o.message ?? o.additional_info;
    return {
      code: typeof code === "string" ? code : undefined,
      message: typeof message === "string" && message ? message : undefined,
    };
  } catch {
    return undefined;
  }
}

const REVISION_RE = /revision|out_of_sync|out[ _-]of[ _-](?:date|sync)|stale/i;
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "ETIMEDOUT",
  "ECONNRESET",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);
const TLS_CODE_RE = /^(?:CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS_|ERR_SSL_)/;

export function isRevisionConflict(err: unknown): boolean {
  const body = parseKsmErrorBody(err);
  return body !== undefined && (REVISION_RE.test(body.code ?? "") || REVISION_RE.test(body.message ?? ""));
}

/**
 * Map an SDK failure while doing `what` (e.g. `saving record "alice" (UID)`) to a RekeyError naming it.
 *
 * @example
 * try { await updateSecret(opts, rec) } catch (err) { throw mapKsmError(err, `saving record ${uid}`, host) }
 */
export function mapKsmError(err: unknown, what: string, host = "Keeper"): RekeyError {
  if (err instanceof RekeyError) return err;
  const e = err as Error & { code?: unknown; name?: string };
  if (e?.name === "KeeperThrottleError") {
    return new RekeyError("internal", `Keeper throttled ${what} and the retries ran out`, {
      hint: "Keeper allows about 100 requests per 10 seconds per application: wait a minute and run again",
      cause: err,
      details: { keeperCode: "throttled" },
    });
  }
  const sysCode = typeof e?.code === "string" ? e.code : undefined;
  if (sysCode && NETWORK_CODES.has(sysCode)) {
    return new RekeyError("internal", `cannot reach Keeper at ${host} while ${what} (${sysCode})`, {
      hint: "check the network, a proxy (HTTPS_PROXY is not used by the KSM SDK), and the hostname in the KSM config",
      cause: err,
    });
  }
  if (sysCode && TLS_CODE_RE.test(sysCode)) {
    return new RekeyError("auth", `the TLS certificate of ${host} was refused while ${what} (${sysCode})`, {
      hint: "behind a TLS-inspecting proxy, give Node its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem",
      cause: err,
    });
  }
  const body = parseKsmErrorBody(err);
  if (body) {
    const said = [body.code, body.message].filter(Boolean).join(": ");
    if (REVISION_RE.test(body.code ?? "") || REVISION_RE.test(body.message ?? "")) {
      return new RekeyError(
        "conflict",
        `Keeper refused ${what}: the record was changed since it was read (${said})`,
        {
          hint: "re-read the record and apply the change again",
          cause: err,
          details: { keeperCode: body.code },
        },
      );
    }
    if (body.code === "access_denied" || body.code === "key") {
      return new RekeyError("auth", `Keeper denied ${what}: ${said}`, {
        hint:
          body.code === "key"
            ? "the KSM config's serverPublicKey/serverPublicKeyId do not match the server: use the config Keeper issued"
            : "check that the KSM application (the Gateway's) can edit the record's shared folder, and that the KSM config is current",
        cause: err,
        details: { keeperCode: body.code },
      });
    }
    return new RekeyError("internal", `Keeper refused ${what}: ${said || "no reason given"}`, {
      hint: "retry; if it persists, check the Keeper Secrets Manager application in the vault",
      cause: err,
      details: { keeperCode: body.code },
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/^Unable to load the key /.test(message)) {
    return new RekeyError("internal", `the KSM SDK has no key to decrypt or encrypt while ${what}`, {
      hint: "the record or folder is not shared with this KSM application (or is shared read-only)",
      cause: err,
    });
  }
  if (/is missing from the configuration/.test(message)) {
    return new RekeyError("usage", `the KSM config is incomplete while ${what}: ${message}`, {
      hint: "use the Gateway's config, or one made by `ksm init` with a one-time token",
      cause: err,
    });
  }
  return new RekeyError("internal", `Keeper request failed while ${what}: ${message}`, { cause: err });
}
