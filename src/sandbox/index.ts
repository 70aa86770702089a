/**
 * rekey's local AWS IAM + STS endpoint, in-process: `startSandbox()`.
 *
 * @example
 * const sandbox = await startSandbox({ propagationDelayMs: 2000 });
 * const iam = new IAMClient({ endpoint: sandbox.endpoint, region: sandbox.region, credentials: sandbox.root });
 * sandbox.admin.createUser("alice");
 * await sandbox.close();
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { RekeyError, usageError } from "../errors.js";
import { createAdminHandler } from "./admin.js";
import { createAdminHelpers, type SandboxAdmin, type SandboxCredentials } from "./admin-helpers.js";
import { parseDocument, type SandboxDocument } from "./document.js";
import { AwsError } from "./errors.js";
import { KNOB_NAMES, KnobStore, type Knobs } from "./knobs.js";
import { freshRng, IdFactory, newAdminToken, type Rng, seededRng } from "./random.js";
import { createRequestHandler, type Traffic } from "./server.js";
import { applyDocument, snapshotState } from "./snapshot.js";
import { SandboxState } from "./state.js";
import { readDocumentFile, StatePersister } from "./state-file.js";

export type { KeyInfo, SandboxAdmin, SandboxCredentials } from "./admin-helpers.js";
export type { PolicyJson, SandboxDocument } from "./document.js";
export type { Knobs } from "./knobs.js";
export type { Traffic, TrafficCount } from "./server.js";
export type { SeededKey } from "./snapshot.js";

export const DEFAULT_ACCOUNT_ID = "123456789012";
export const DEFAULT_REGION = "us-east-1";
export const DEFAULT_MAX_CONNECTIONS = 256;

export interface SandboxOptions extends Partial<Knobs> {
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** Connections open at once; more are closed as soon as accepted (default 256). */
  maxConnections?: number;
  /** 0 (default): a free port. */
  port?: number;
  /** The region clients should use; IAM is global, so any scope region is accepted. */
  region?: string;
  /** The default account (default 123456789012). */
  accountId?: string;
  /** Root credentials; else REKEY_SANDBOX_ROOT_KEY_ID / REKEY_SANDBOX_ROOT_SECRET; else from the state/seed; else generated. */
  root?: SandboxCredentials;
  /** Token for the admin endpoint; else REKEY_SANDBOX_ADMIN_TOKEN; else generated. */
  adminToken?: string;
  /** Initial state (ignored when `stateFile` exists). */
  seed?: SandboxDocument;
  /** JSON file with the initial state (ignored when `stateFile` exists). */
  seedFile?: string;
  /** Persist the state here (atomically, mode 0600) and load it at start when it exists. */
  stateFile?: string;
  /** Environment to read REKEY_SANDBOX_* from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where internal errors are reported (default: nowhere). Never given secrets. */
  log?: (line: string) => void;
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:43121 */
  endpoint: string;
  host: string;
  port: number;
  region: string;
  accountId: string;
  root: SandboxCredentials;
  /** Where the root credentials came from; "generated" ones are known only to this object. */
  rootSource: "options" | "env" | "state" | "generated";
  adminToken: string;
  adminTokenGenerated: boolean;
  knobs: { get(): Knobs; set(partial: Partial<Knobs>): Knobs };
  /** Requests served and throttled since start, per caller access key id and service (benchmarks). */
  traffic(): Traffic;
  admin: SandboxAdmin;
  close(): Promise<void>;
}

function rootFromEnv(env: NodeJS.ProcessEnv): SandboxCredentials | undefined {
  const id = env.REKEY_SANDBOX_ROOT_KEY_ID;
  const secret = env.REKEY_SANDBOX_ROOT_SECRET;
  if (!id && !secret) return undefined;
  if (!id || !secret) {
    throw usageError(
      "REKEY_SANDBOX_ROOT_KEY_ID and REKEY_SANDBOX_ROOT_SECRET must be set together",
      "set both, or neither to have root credentials generated",
    );
  }
  return { accessKeyId: id, secretAccessKey: secret };
}

function knobOptions(options: SandboxOptions): Partial<Knobs> {
  const out: Record<string, unknown> = {};
  for (const name of KNOB_NAMES) if (options[name] !== undefined) out[name] = options[name];
  return out as Partial<Knobs>;
}

/** Loads the state file when it exists, else the seed (option and file). */
async function loadInitialState(
  state: SandboxState,
  options: SandboxOptions,
  accountId: string,
): Promise<void> {
  const fromStateFile = options.stateFile ? await readDocumentFile(options.stateFile, true) : undefined;
  const docs: SandboxDocument[] = fromStateFile
    ? [fromStateFile]
    : [
        ...(options.seed ? [await parseDocument(options.seed, "the seed option")] : []),
        ...(options.seedFile ? [(await readDocumentFile(options.seedFile))!] : []),
      ];
  for (const doc of docs) {
    try {
      applyDocument(state, doc, accountId);
    } catch (err) {
      if (err instanceof AwsError) {
        throw usageError(`the sandbox seed/state cannot be applied: ${err.code}: ${err.message}`);
      }
      throw err;
    }
  }
}

/** Starts an IAM + STS endpoint on loopback (a free port unless `port` is given). */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const env = options.env ?? process.env;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  if (!/^\d{12}$/.test(accountId)) throw usageError(`sandbox account id ${accountId} is not 12 digits`);
  const knobs = new KnobStore(knobOptions(options));
  const streams = (seed: number | null): [Rng, Rng] =>
    seed === null ? [freshRng(), freshRng()] : [seededRng(seed), seededRng(seed ^ 0x5bd1e995)];
  let [idRng, faultRng] = streams(knobs.current().randomSeed);
  const ids = new IdFactory(idRng);
  knobs.onChange((_k, changed) => {
    if (changed.randomSeed === undefined) return;
    [idRng, faultRng] = streams(changed.randomSeed);
    ids.reseed(idRng);
  });

  const state = new SandboxState(ids);
  await loadInitialState(state, options, accountId);
  const account = state.accounts.get(accountId) ?? state.addAccount(accountId);

  const given = options.root ?? rootFromEnv(env);
  let rootSource: Sandbox["rootSource"];
  let root: SandboxCredentials;
  const existing = account.rootKeys.find((k) => k.status === "Active");
  if (given) {
    rootSource = options.root ? "options" : "env";
    if (existing?.accessKeyId !== given.accessKeyId || existing.secretAccessKey !== given.secretAccessKey) {
      try {
        state.setRootKey(account, { ...given, usableAfter: 0 }, true);
      } catch (err) {
        throw usageError(
          `the sandbox root key ${given.accessKeyId} cannot be used: ${(err as Error).message}`,
        );
      }
    }
    root = given;
  } else if (existing) {
    rootSource = "state";
    root = { accessKeyId: existing.accessKeyId, secretAccessKey: existing.secretAccessKey };
  } else {
    rootSource = "generated";
    const key = state.createAccessKey(account, null);
    root = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  }
  // Seeded accounts without root keys still get one, so that they can be driven.
  for (const a of state.accounts.values()) if (a.rootKeys.length === 0) state.createAccessKey(a, null);
  // After the seed and the root keys, so that these are listed at once.
  state.keyListLag.windowMs = knobs.current().staleListMs;
  knobs.onChange((k) => {
    state.keyListLag.windowMs = k.staleListMs;
  });

  const adminToken = options.adminToken ?? env.REKEY_SANDBOX_ADMIN_TOKEN ?? newAdminToken();
  const log = options.log ?? (() => {});

  let persister: StatePersister | undefined;
  if (options.stateFile) {
    persister = new StatePersister(options.stateFile, () => snapshotState(state, { secrets: true }), {
      onError: (err) =>
        log(`rekey sandbox: cannot write state file ${options.stateFile}: ${(err as Error).message}`),
    });
    const p = persister;
    state.setOnChange(() => p.schedule());
    p.schedule();
    await p.flush();
  }

  const parse = (value: unknown) => parseDocument(value, "the seed document");
  const admin = createAdminHelpers(state, accountId, parse);
  const handler = createRequestHandler({
    state,
    knobs,
    ids,
    faultRng: () => faultRng,
    log,
    admin: createAdminHandler({
      state,
      knobs,
      adminToken,
      seed: (doc) => applyDocument(state, doc, accountId),
    }),
  });

  const server = createServer(handler.listener);
  // Longer than clients' idle sockets, so a reused keep-alive socket is not closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Bounds what unauthenticated clients can hold open (each may also buffer up to 1 MiB of body).
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new RekeyError("usage", `sandbox cannot listen on ${host}:${options.port ?? 0}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const endpoint = `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    host,
    port,
    region: options.region ?? DEFAULT_REGION,
    accountId,
    root,
    rootSource,
    adminToken,
    adminTokenGenerated: options.adminToken === undefined && env.REKEY_SANDBOX_ADMIN_TOKEN === undefined,
    knobs: { get: () => knobs.get(), set: (partial) => knobs.set(partial) },
    traffic: () => handler.traffic(),
    admin,
    close() {
      closing ??= (async () => {
        handler.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await persister?.flush();
      })();
      return closing;
    },
  };
}
