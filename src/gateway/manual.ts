/**
 * `rekey rotate RECORD`: a manual rotation that does everything a gateway rotation does. An emergency
 * rotation deletes the key the post-rotation scripts last deployed, so it must deliver the new one the
 * same way: the same runner (the record's gateway lease, the engine, the scripts, the history entry and
 * its audit copy), then the same webhooks. A manual attempt is final: a failure is reported to the person
 * who asked, not retried behind their back.
 */
import { RekeyError } from "../errors.js";
import type { RotateOptions, RotationLogger, RotationResult } from "../rotation/index.js";
import { lockHeld } from "../rotation/lock-held.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { findRecord } from "../vault/find-record.js";
import { systemClock } from "./clock.js";
import type { GatewayConfig } from "./config.js";
import type { RotationAttempt } from "./history-model.js";
import type { WebhookResult } from "./notify.js";
import type { Pacers } from "./pacer.js";
import { accountKey, configurationFor } from "./records.js";
import { type RotateFn, runJob, runnerDeps } from "./runner.js";

export interface ManualRotationOptions {
  store: AsyncVaultStore;
  /** The gateway configuration: webhooks, script timeout, engine defaults. */
  config: GatewayConfig;
  /** UID or unique title. */
  ref: string;
  /** Engine options from the command line (strategy, verify, force, credentials, signal...). */
  rotate: Partial<RotateOptions>;
  /** false: `--no-scripts`. */
  scripts: boolean;
  actor: string;
  logger: RotationLogger;
  env?: Record<string, string | undefined> | undefined;
  fetch?: typeof fetch | undefined;
  /** The engine (tests). */
  engine?: RotateFn | undefined;
  /** The AWS pacing shared with the other rotations of this process (`rekey rotate --all`); default: its own. */
  pacers?: Pacers | undefined;
}

export interface ManualRotationOutcome {
  entry: RotationAttempt;
  /** The engine's report, when it rotated. */
  result: RotationResult | undefined;
  /** The error, when the attempt failed (rethrown by the CLI with its own exit code). */
  failure: unknown;
  webhooks: WebhookResult[];
}

export async function rotateManually(o: ManualRotationOptions): Promise<ManualRotationOutcome> {
  const user = await findRecord(o.store, o.ref);
  // One listing: the record's configuration, and the other records (one IAM user, one record).
  const all = await o.store.listRecords();
  const configurations = all.filter((r) => r.record.type === "pamAwsConfiguration");
  const deps = runnerDeps({
    store: o.store,
    config: o.config,
    clock: systemClock,
    logger: o.logger,
    actor: o.actor,
    env: o.env,
    rotate: o.engine,
    pacers: o.pacers,
    leaseOwner: "rekey-rotate",
  });
  const r = await runJob(deps, {
    uid: user.uid,
    account: accountKey(user.record, configurationFor(user.record, configurations)),
    trigger: "manual",
    attempt: 1,
    slot: null,
    configuration: (u) => configurationFor(u.record, configurations),
    final: true,
    readHistory: false,
    scripts: o.scripts,
    rotate: { ...o.rotate, peers: all },
  });
  if (r.kind === "busy") {
    throw lockHeld(
      `record "${user.record.title}" (${user.uid}) is being rotated by a gateway (or another rekey rotate) right now`,
      "wait for it to finish: `rekey status` and `rekey history` show its outcome",
    );
  }
  if (r.kind === "not-due") {
    throw new RekeyError("not-found", `record ${user.uid} disappeared before it could be rotated`);
  }
  // notify.ts (and its zod schema) loads only when there is a webhook to call.
  const webhooks =
    r.notice && o.config.webhooks.length > 0
      ? await (await import("./notify.js")).notifyAll(
          o.config.webhooks,
          r.notice,
          o.fetch ? { fetch: o.fetch } : {},
        )
      : [];
  for (const w of webhooks) {
    if (!w.ok)
      o.logger.warn(
        { recordUid: user.uid, target: w.target, attempts: w.attempts, error: w.error },
        "webhook not delivered",
      );
  }
  return { entry: r.entry, result: r.result, failure: r.failure, webhooks };
}
