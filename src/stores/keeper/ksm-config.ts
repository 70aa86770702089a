/**
 * The Keeper Secrets Manager config file: where it is, how it is read, what it must hold (keeper-protocol.md §5).
 *
 * The Gateway's own file (default /etc/keeper-gateway/gateway-config.json) is the one the seed's script uses.
 * It is secret material (the app's client private key and app key): nothing here ever echoes its content, and
 * a *bound* config is read into memory and never written back (the Gateway owns that file). Only an unbound
 * config (a one-time token's `clientKey`, no `appKey` yet) is opened through the SDK's file storage, because
 * the first request binds it and the binding must persist (the SDK writes the file with mode 0600).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { inMemoryStorage, type KeyValueStorage } from "@keeper-security/secrets-manager-core";
import * as z from "zod/mini";
import { RekeyError, usageError } from "../../errors.js";

import { describeKsmConfigSource, type KsmConfigSource } from "./ksm-config-path.js";

export {
  DEFAULT_KSM_CONFIG,
  describeKsmConfigSource,
  GATEWAY_CONFIG_VARIABLE,
  gatewayConfigFiles,
  type KsmConfigSource,
  keeperVaultSpec,
  locateKsmConfig,
  resolveKsmConfigPath,
} from "./ksm-config-path.js";

/** The config keys the SDK reads (17.5.0). Binary values are base64 (standard or URL-safe). */
export interface KsmConfigJson {
  /** Keeper region host, e.g. keepersecurity.com (may carry a port: `127.0.0.1:8443` for the fake). */
  hostname: string;
  clientId: string;
  /** PKCS#8 DER of the client's P-256 key. */
  privateKey: string;
  /** Present once bound. */
  appKey?: string;
  appOwnerPublicKey?: string;
  /** Present only until the first request binds the client. */
  clientKey?: string;
  /** Which server key encrypts the transmission key (default 7). */
  serverPublicKeyId?: string;
  /** Since 17.5.0: the server key itself, for a server whose key the SDK does not bundle. */
  serverPublicKey?: string;
  [extra: string]: unknown;
}

// zod/mini, not zod: this file is in the Gateway script's bundle, where full zod would be a third of its size.
const b64 = z.string().check(z.regex(/^[A-Za-z0-9+/_-]+={0,2}$/, "is not base64"));

const configSchema = z
  .looseObject({
    hostname: z.string().check(z.minLength(1, "is empty")),
    clientId: z.string().check(z.minLength(1, "is empty")),
    privateKey: b64,
    appKey: z.optional(b64),
    appOwnerPublicKey: z.optional(b64),
    clientKey: z.optional(b64),
    serverPublicKeyId: z.optional(
      z.union([z.string().check(z.regex(/^\d+$/, "is not a number")), z.int().check(z.nonnegative())]),
    ),
    serverPublicKey: z.optional(b64),
  })
  .check(
    z.refine((c) => c.appKey !== undefined || c.clientKey !== undefined, {
      message: "has neither appKey (a bound client) nor clientKey (a one-time token to bind)",
    }),
  );

/**
 * Parse a config's text: JSON, or base64 of JSON (the form `ksm init` and the vault UI hand out).
 * Errors name the file and the problem, never a value.
 */
export function parseKsmConfig(text: string, where: string): KsmConfigJson {
  let json: unknown;
  const trimmed = text.trim();
  try {
    json = JSON.parse(trimmed.startsWith("{") ? trimmed : Buffer.from(trimmed, "base64").toString("utf8"));
  } catch {
    throw usageError(
      `the KSM config ${where} is neither JSON nor base64 of JSON`,
      "point --ksm-config (or KSM_CONFIG_FILE) at a Keeper Secrets Manager config file",
    );
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "the file";
    // zod/mini carries no message catalogue: say what a missing or mistyped key is ourselves.
    const message =
      issue?.code === "invalid_type"
        ? "is missing or not of the right type"
        : issue?.code === "invalid_union"
          ? "is not valid"
          : (issue?.message ?? "is invalid");
    throw usageError(
      `the KSM config ${where} is not usable: ${field} ${message}`,
      "use the Gateway's config (or one made by `ksm init`); it needs hostname, clientId, privateKey and appKey",
    );
  }
  const c = parsed.data as KsmConfigJson;
  if (typeof c.serverPublicKeyId === "number") c.serverPublicKeyId = String(c.serverPublicKeyId);
  return c;
}

export interface LoadedKsmConfig {
  /** The file's path, or which environment variable held it (for messages). */
  path: string;
  config: KsmConfigJson;
  /** The SDK storage: in memory for a bound config, the file itself for one that still has to bind. */
  storage: KeyValueStorage;
  bound: boolean;
}

/**
 * Read and validate a KSM config (a file, or GATEWAY_CONFIG's text) and give the SDK storage for it. A config
 * from the environment lives in memory only; one that still has to bind is refused (its binding could not
 * be kept, and the one-time token would be spent).
 */
export function loadKsmConfig(source: string | KsmConfigSource): LoadedKsmConfig {
  if (typeof source !== "string" && source.kind === "env") return loadFromEnv(source);
  const path = typeof source === "string" ? source : source.path;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new RekeyError(
      code === "ENOENT" ? "not-found" : "usage",
      code === "ENOENT"
        ? `the KSM config ${path} does not exist`
        : `the KSM config ${path} cannot be read (${code ?? "error"})`,
      {
        hint: "on the Gateway it is /etc/keeper-gateway/gateway-config.json; elsewhere pass --ksm-config PATH or set KSM_CONFIG_FILE",
        cause,
      },
    );
  }
  const config = parseKsmConfig(text, path);
  const bound = config.appKey !== undefined;
  // A bound config is never written back: the SDK would rewrite the Gateway's file on every key-id change.
  const storage = bound
    ? inMemoryStorage(structuredClone(config))
    : persistentStorage(path, structuredClone(config));
  return { path, config, storage, bound };
}

function loadFromEnv(source: Extract<KsmConfigSource, { kind: "env" }>): LoadedKsmConfig {
  const where = describeKsmConfigSource(source);
  const config = parseKsmConfig(source.text, where);
  if (config.appKey === undefined) {
    throw usageError(
      `the KSM config ${where} is not bound yet (a one-time token): rekey keeps a config from the environment in memory only, so the binding would be lost`,
      "bind it once in a file (pass it with --ksm-config PATH, which rekey then updates), or give the Gateway's bound config",
    );
  }
  return { path: where, config, storage: inMemoryStorage(structuredClone(config)), bound: true };
}

/**
 * The SDK's in-memory storage, written back to `path` (JSON, mode 0600, atomically) after every change: what
 * `localConfigStorage` does, but it also reads a base64 config and never leaves a half-written file.
 */
function persistentStorage(path: string, data: Record<string, unknown>): KeyValueStorage {
  const mem = inMemoryStorage(data);
  const save = () => {
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(data, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  };
  return {
    getString: (key) => mem.getString(key),
    getBytes: (key) => mem.getBytes(key),
    saveString: async (key, value) => {
      await mem.saveString(key, value);
      save();
    },
    saveBytes: async (key, value) => {
      await mem.saveBytes(key, value);
      save();
    },
    delete: async (key) => {
      await mem.delete(key);
      save();
    },
  };
}
