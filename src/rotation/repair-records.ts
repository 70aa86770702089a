/**
 * `repairRecords` (`rekey repair`): finish or undo every interrupted rotation, and delete graceful's
 * previous keys whose `old_key_grace` has passed. Each record is handled under its lock; one record's
 * failure does not stop the others (it is reported).
 */
import { RekeyError } from "../errors.js";
import { type AsyncVaultStore, toAsyncStore } from "../vault/async-store.js";
import { findRecord } from "../vault/find-record.js";
import type { VaultStore } from "../vault/store.js";
import { type ResolvedAdmin, resolveAdminCredentials } from "./credentials.js";
import { rotateLocked } from "./engine.js";
import type { ExecContext } from "./executor.js";
import { graceDue } from "./grace.js";
import { pendingJournals } from "./journal.js";
import { expiredPreviousKeys } from "./plan.js";
import { forgetPreviousKeys } from "./record-update.js";
import { repairJournal } from "./repair.js";
import { checkUserIdentity, execContext, type Normalized, normalize, prepare, takeLock } from "./session.js";
import { readKeyState, readSettings } from "./settings.js";
import type { RepairOptions, RepairOutcomeKind, RepairRecordResult, RepairResult } from "./types.js";

/**
 * Repair interrupted rotations and expire graceful keys.
 *
 * @example
 * const { ok, records } = await repairRecords(store, { endpointUrl });
 */
export async function repairRecords(
  vault: VaultStore | AsyncVaultStore,
  opts: RepairOptions = {},
): Promise<RepairResult> {
  const store = toAsyncStore(vault);
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
  const keys = await ctx.port.listKeys(userName);
  const expired = expiredPreviousKeys({
    keys,
    currentKeyId: state.currentKeyId,
    previousKeyIds: state.previousKeyIds,
    deactivatedAt: state.previousDeactivatedAt,
    graceMs: readSettings(current.record).graceMs,
    now: n.now(),
  });
  const deleted: string[] = [];
  for (const e of expired) {
    ctx.lease.renew(ctx.lockTtlMs);
    await ctx.port.deleteKey(userName, e.keyId);
    deleted.push(e.keyId);
    ctx.report.deleted.push(e.keyId);
    ctx.report.steps.push({ step: "delete", keyId: e.keyId, reason: e.reason, status: "done" });
  }
  // Forget previous ids that are deleted now or already gone from IAM.
  const alive = new Set(keys.map((k) => k.accessKeyId));
  const remaining = state.previousKeyIds.filter((id) => alive.has(id) && !deleted.includes(id));
  const forgotten = state.previousKeyIds.filter((id) => !remaining.includes(id));
  if (forgotten.length === 0) return;
  await store.commit(
    [
      {
        op: "saveRecord",
        uid,
        record: forgetPreviousKeys(current.record, forgotten, remaining),
        expectedRevision: current.revision,
      },
      {
        op: "audit",
        event: {
          action: "rotation.grace-expired",
          recordUid: uid,
          actor: n.actor,
          details: { userName, deleted },
        },
      },
    ],
    { actor: n.actor },
  );
  if (out.outcome === "nothing") out.outcome = "grace-expired";
}
