/**
 * `repairRecords` (`rekey repair`): finish or undo every interrupted rotation, and delete graceful's
 * previous keys whose `old_key_grace` has passed. Each record is handled under its lock; one record's
 * failure does not stop the others (it is reported).
 */
import { RekeyError } from "../errors.js";
import { type ResolvedAdmin, resolveAdminCredentials } from "../providers/aws-iam/admin-credentials.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { findRecord } from "../vault/find-record.js";
import { cloneRecord } from "../vault/record.js";
import { rotateLocked } from "./engine.js";
import type { ExecContext } from "./executor.js";
import { graceDue } from "./grace.js";
import { pendingJournals } from "./journal.js";
import { setPreviousKeyState } from "./record-update.js";
import { repairJournal } from "./repair.js";
import { decideRetirement, describeLastUse, type LastUse } from "./retire.js";
import { checkUserIdentity, execContext, type Normalized, normalize, prepare, takeLock } from "./session.js";
import { readKeyState, readSettings, retireSettingsFor } from "./settings.js";
import type { RepairOptions, RepairOutcomeKind, RepairRecordResult, RepairResult } from "./types.js";

/**
 * Repair interrupted rotations and expire graceful keys.
 *
 * @example
 * const { ok, records } = await repairRecords(store, { endpointUrl });
 */
export async function repairRecords(store: AsyncVaultStore, opts: RepairOptions = {}): Promise<RepairResult> {
  const n = normalize(opts, "rekey repair");
  const uids: string[] = [];
  if (opts.records && opts.records.length > 0) {
    for (const ref of opts.records) uids.push((await findRecord(store, ref)).uid);
  } else {
    for (const j of await pendingJournals(store)) if (!uids.includes(j.recordUid)) uids.push(j.recordUid);
    for (const r of await store.listRecords({ type: "pamUser" })) {
      if (!uids.includes(r.uid) && graceDue(r.record, n.now())) uids.push(r.uid);
    }
  }
  const records: RepairRecordResult[] = [];
  for (const uid of uids) records.push(await repairOne(store, uid, n, opts));
  return { records, ok: records.every((r) => r.outcome !== "failed") };
}

async function repairOne(
  store: AsyncVaultStore,
  uid: string,
  n: Normalized,
  opts: RepairOptions,
): Promise<RepairRecordResult> {
  const out: RepairRecordResult = {
    recordUid: uid,
    recordTitle: undefined,
    outcome: "nothing",
    orphansDeleted: [],
    deleted: [],
    deactivated: [],
    created: undefined,
    warnings: [],
    error: undefined,
  };
  const stored = await store.getRecord(uid);
  if (!stored) {
    out.outcome = "failed";
    out.error = {
      kind: "not-found",
      message: `a rotation journal names record ${uid}, which no longer exists; its new key is kept in the journal`,
      hint: "restore the record from its history (rekey record history), then run rekey repair again",
    };
    return out;
  }
  out.recordTitle = stored.record.title;
  const pending = await pendingJournals(store, uid);
  const due = graceDue(stored.record, n.now());
  if (pending.length === 0 && !due) return out;

  let admin: ResolvedAdmin | undefined;
  let ctx: ExecContext | undefined;
  try {
    const prep = await prepare(store, stored, opts, n);
    const lease = await takeLock(store, stored, n);
    try {
      admin = await resolveAdminCredentials(prep.sources.candidates, {
        userName: prep.settings.userName,
        endpoints: prep.endpoints,
        retry: n.retry,
        requestTimeoutMs: n.requestTimeoutMs,
        logger: n.logger,
        onWait: () => lease.renew(n.lockTtlMs),
        wrapPort: n.wrapPort,
        onRetry: n.onAwsRetry,
        onCall: n.onAwsCall,
        pace: n.pace,
      });
      ctx = execContext(store, admin.port, stored, lease, n);
      const warnings: string[] = [];
      const userId = await checkUserIdentity(
        admin.port,
        stored,
        prep.settings.userName,
        n,
        warnings,
        undefined,
      );
      out.warnings.push(...warnings);
      let restart = false;
      for (const entry of pending) {
        const current = (await store.getRecord(uid)) ?? stored;
        const r = await repairJournal(ctx, entry, {
          currentKeyId: readKeyState(current.record).currentKeyId,
          userId,
          force: n.force,
        });
        out.outcome = (r === "restart" ? "restarted" : r) satisfies RepairOutcomeKind;
        if (r === "restart") restart = true;
      }
      if (restart) {
        // The interrupted rotation had deleted the vault's key already: the record needs a new one now.
        const latest = (await store.getRecord(uid)) ?? stored;
        const rotated = await rotateLocked(ctx, store, latest, prep, admin, n, opts);
        out.warnings.push(...rotated.warnings);
      }
      await expireGraceKeys(ctx, store, uid, prep.settings.userName, n, out);
    } finally {
      lease.release();
    }
  } catch (err) {
    out.outcome = "failed";
    out.error =
      err instanceof RekeyError
        ? { kind: err.kind, message: err.message, hint: err.hint }
        : { kind: "internal", message: err instanceof Error ? err.message : String(err), hint: undefined };
  } finally {
    admin?.port.close();
    if (ctx) {
      out.orphansDeleted.push(...ctx.report.orphansDeleted);
      out.deleted.push(...ctx.report.deleted);
      out.deactivated.push(...ctx.report.deactivated);
      out.created = ctx.report.created?.accessKeyId;
      out.warnings.push(...ctx.report.warnings);
    }
  }
  return out;
}

/**
 * The next step of the record's previous keys when one is due (retire.ts): deactivate after the overlap,
 * delete after the grace, each only when IAM shows no use since the last check; otherwise hold (and
 * re-activate a deactivated key an application turned out to need). The record's state is saved with the
 * steps taken.
 */
async function expireGraceKeys(
  ctx: ExecContext,
  store: AsyncVaultStore,
  uid: string,
  userName: string,
  n: Normalized,
  out: RepairRecordResult,
): Promise<void> {
  const current = await store.getRecord(uid);
  if (!current || !graceDue(current.record, n.now())) return;
  const state = readKeyState(current.record);
  const settings = readSettings(current.record);
  const retireSettings = { ...retireSettingsFor(settings), resolutionMs: n.lastUseResolutionMs };
  const keys = await ctx.port.listKeys(userName);
  const lastUse = new Map<string, LastUse>();
  let d = decideRetirement({ keys, state, settings: retireSettings, lastUse, now: n.now(), force: n.force });
  if (d.needLastUse.length > 0) {
    for (const id of d.needLastUse) {
      ctx.lease.renew(ctx.lockTtlMs);
      const use = await ctx.port.lastUsed(userName, id);
      lastUse.set(id, use);
      if (use === "denied") {
        out.warnings.push(
          `could not ask IAM when ${id} was last used (iam:GetAccessKeyLastUsed is not allowed): retired without that check; add the permission (rekey policy prints it)`,
        );
      }
    }
    d = decideRetirement({ keys, state, settings: retireSettings, lastUse, now: n.now(), force: n.force });
  }
  const deleted: string[] = [];
  for (const a of d.actions) {
    ctx.lease.renew(ctx.lockTtlMs);
    if (a.kind === "delete") {
      await ctx.port.deleteKey(userName, a.keyId);
      deleted.push(a.keyId);
      ctx.report.deleted.push(a.keyId);
      ctx.report.steps.push({ step: "delete", keyId: a.keyId, reason: a.reason, status: "done" });
    } else {
      await ctx.port.updateKey(userName, a.keyId, a.kind === "deactivate" ? "Inactive" : "Active");
      if (a.kind === "deactivate") ctx.report.deactivated.push(a.keyId);
      ctx.report.steps.push({ step: "deactivate", keyId: a.keyId, reason: a.reason, status: "done" });
      if (a.kind === "reactivate") ctx.report.warnings.push(`re-activated ${a.keyId}: ${a.reason}`);
    }
  }
  if (d.held.length > 0) {
    const why = `held: old key still in use (${d.held.map((h) => `${h.keyId} ${describeLastUse(h.lastUse)}`).join("; ")})`;
    ctx.report.retained = { keyIds: d.held.map((h) => h.keyId), held: true, why };
    out.held = why;
  }
  const s = d.state;
  const unchanged =
    s.previousKeyIds.join() === state.previousKeyIds.join() &&
    s.previousHeldAt?.getTime() === state.previousHeldAt?.getTime() &&
    s.previousSince?.getTime() === state.previousSince?.getTime() &&
    s.previousActiveUntil?.getTime() === state.previousActiveUntil?.getTime() &&
    s.previousDeactivatedAt?.getTime() === state.previousDeactivatedAt?.getTime();
  if (unchanged) return;
  const record = cloneRecord(current.record);
  setPreviousKeyState(record, {
    keyIds: s.previousKeyIds,
    deactivatedAt: s.previousDeactivatedAt,
    since: s.previousSince,
    activeUntil: s.previousActiveUntil,
    heldAt: s.previousHeldAt,
    retire: s.previousKeyIds.length ? state.previousRetire : undefined,
  });
  await store.commit(
    [
      { op: "saveRecord", uid, record, expectedRevision: current.revision },
      {
        op: "audit",
        event: {
          action: d.held.length > 0 ? "rotation.old-key-held" : "rotation.grace-expired",
          recordUid: uid,
          actor: n.actor,
          details: {
            userName,
            deleted,
            deactivated: d.actions.filter((a) => a.kind === "deactivate").map((a) => a.keyId),
            reactivated: d.actions.filter((a) => a.kind === "reactivate").map((a) => a.keyId),
            held: d.held.map((h) => h.keyId),
          },
        },
      },
    ],
    { actor: n.actor },
  );
  if (out.outcome === "nothing") out.outcome = d.held.length > 0 ? "held" : "grace-expired";
}
