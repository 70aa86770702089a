/**
 * For the keeper-script tests (imported by *.test.ts only): the bundle copied where no
 * node_modules can help it, a child-process runner that feeds it the Gateway's line as the Gateway does, and
 * a counting proxy in front of the sandbox (to prove a run made no AWS call at all).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseSchedule } from "../gateway/schedule.js";
import { SCHEDULE_FIELD_TYPE, SCHEDULE_LABEL, scheduleFieldValue } from "../gateway/schedule-field.js";
import type { Sandbox } from "../sandbox/index.js";
import { type KeeperRecord, removeField, setFieldValue } from "../vault/record.js";
import { spawnNode } from "./cli.js";
import {
  type FakeKeeper,
  type SeedAwsRotationOptions,
  type SeededAwsRotation,
  seedAwsRotation,
} from "./fake-keeper/index.js";
import { uniqueName } from "./rotation.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const BUNDLE = join(REPO, "dist/keeper/rekey-aws-access-key.cjs");

/** The bundle, built if missing, copied alone into a fresh temp dir (as a file attached to a Keeper record). */
export function bundleInTempDir(): { dir: string; script: string; cleanup(): void } {
  if (!existsSync(BUNDLE)) {
    const built = spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: REPO, stdio: "inherit" });
    if (built.status !== 0) throw new Error("npm run build failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "rekey-gateway-script-"));
  const script = join(dir, "rekey-aws-access-key.cjs");
  copyFileSync(BUNDLE, script);
  return { dir, script, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `echo LINE | node script` in `cwd`, with exactly `env` (plus PATH): nothing inherited from the test runner. */
export async function runScript(
  script: string,
  input: string,
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; args?: string[]; timeoutMs?: number } = {},
): Promise<ScriptRun> {
  const t0 = performance.now();
  const run = spawnNode([script, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? resolve(script, ".."),
    env: { PATH: process.env.PATH, ...env },
    input,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  const { code, signal } = await run.exited;
  return { code, signal, ...run.output(), ms: performance.now() - t0 };
}

export interface CountingProxy {
  url: string;
  /** AWS requests forwarded so far. */
  count(): number;
  close(): Promise<void>;
}

/** An HTTP proxy to `target` (the sandbox) that counts what passes. */
export async function countingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  let n = 0;
  const server = createServer((req, res) => {
    n++;
    const fwd = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A KSM config file for a client of the fake (which must be served over HTTPS already), mode 0600. */
export function writeKsmConfig(fake: FakeKeeper, dir: string, name = "gateway-config.json"): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(fake.createClientConfig(), null, 2), { mode: 0o600 });
  return path;
}

/**
 * A sandbox IAM user with `keys` access keys (default 1) and the Keeper records of its rotation, the first
 * key recorded as the user's; with `rootAdmin`, the sandbox's root key is the attached admin record.
 *
 * @example
 * const { userName, old, seeded } = seedSandboxRotation(fake, sandbox, "kv", { rootAdmin: true });
 */
export function seedSandboxRotation(
  fake: FakeKeeper,
  sandbox: Sandbox,
  prefix: string,
  opts: { keys?: number; rootAdmin?: boolean } & Omit<SeedAwsRotationOptions, "userName" | "currentKey"> = {},
) {
  const { keys: n = 1, rootAdmin, ...seed } = opts;
  const userName = uniqueName(prefix);
  sandbox.admin.createUser(userName);
  const keys = Array.from({ length: n }, () => sandbox.admin.createAccessKey(userName));
  const first = keys[0];
  const seeded = seedAwsRotation(fake, {
    userName,
    awsAccountId: sandbox.accountId,
    ...(first ? { currentKey: { id: first.accessKeyId, secret: first.secretAccessKey } } : {}),
    ...(rootAdmin
      ? {
          attachedAdmin: {
            kind: "aws" as const,
            accessKeyId: sandbox.root.accessKeyId,
            secretAccessKey: sandbox.root.secretAccessKey,
          },
        }
      : {}),
    ...seed,
  });
  /** The user's first key (undefined only with `keys: 0`). */
  const old = first as NonNullable<typeof first>;
  return { userName, keys, old, seeded };
}

/**
 * Turn the seeded PAM User (the seed's record runs scripts only and names a Keeper file attachment) into one
 * that rotates with its attached admin record; with `schedule`, on that schedule and without the scripts.
 */
export function rotateWithAdmin(fake: FakeKeeper, s: SeededAwsRotation, schedule?: string): void {
  fake.editRecord(s.userUid, (d) => {
    const r = d as unknown as KeeperRecord;
    setFieldValue(r, "NOOP", "False");
    setFieldValue(r, "rotation_credentials", s.adminUid!);
    if (schedule === undefined) return;
    removeField(r, "rotationScripts");
    setFieldValue(r, SCHEDULE_LABEL, scheduleFieldValue(parseSchedule(schedule)), {
      type: SCHEDULE_FIELD_TYPE,
    });
  });
}
