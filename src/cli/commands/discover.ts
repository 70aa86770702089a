/**
 * `rekey discover`: the account's IAM users, their keys and each key's last use, and which record of the
 * vault manages each user; `--import` creates a pamUser record adopting each unmanaged user (no secret is
 * known or needed), all in one vault transaction.
 *
 * Admin credentials come in rotation's order, from the same code (providers/aws-iam/sources.ts): `--credentials
 * RECORD` (then only it), else the vault's only pamAwsConfiguration, else the AWS default chain. The first
 * source that may list the users wins; one failing for a credential reason (unknown key, access denied)
 * is noted and the next tried, as in a rotation.
 */

import { usageError } from "../../errors.js";
import { parseSchedule, type Schedule } from "../../gateway/schedule.js";
import { partitionOf } from "../../providers/aws-iam/endpoints.js";
import type { AsyncVaultStore, WriteOp } from "../../vault/async-store.js";
import { findFolder } from "../../vault/find-record.js";
import { type KeeperRecord, newUid } from "../../vault/record.js";
import type { StoredRecord } from "../../vault/store.js";
import { capabilitiesOf, requireCapability } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import {
  adoptionRecord,
  importTitle,
  managingRecords,
  renderUsers,
  summaryLine,
  type UserView,
  userJson,
} from "../discover-view.js";
import { checkPathPrefix, readInventory } from "../iam-inventory.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const doImport = opts.import === true;
  const folderRef = typeof opts.folder === "string" ? opts.folder : undefined;
  const scheduleText = typeof opts.schedule === "string" ? opts.schedule : undefined;
  if (!doImport && (folderRef !== undefined || scheduleText !== undefined)) {
    throw usageError(
      `${folderRef !== undefined ? "--folder" : "--schedule"} applies to the records --import creates`,
      "add --import, or drop the option to only list the users",
    );
  }
  const pathPrefix = checkPathPrefix(typeof opts.pathPrefix === "string" ? opts.pathPrefix : undefined);
  // Parsed before the vault opens: a typo costs no passphrase prompt.
  const schedule = scheduleText === undefined ? undefined : parseSchedule(scheduleText);
  const region = typeof opts.region === "string" ? opts.region : undefined;
  if (region !== undefined) partitionOf(region);
  const credentials = typeof opts.credentials === "string" ? opts.credentials : undefined;

  const store = await ctx.asyncVault();
  const folderUid = doImport && folderRef !== undefined ? (await findFolder(store, folderRef)).uid : null;
  if (doImport && folderUid === null)
    requireCapability(store, "recordsAtRoot", "rekey discover --import without --folder");

  const inventory = await readInventory(ctx, store, {
    credentials,
    region,
    endpointUrl: typeof opts.endpointUrl === "string" ? opts.endpointUrl : undefined,
    pathPrefix,
  });
  const views: UserView[] = inventory.users;

  const now = new Date();
  const account = inventory.account;
  if (!doImport) {
    if (opts.json)
      return printJson(
        ctx.stdout,
        views.map((u) => userJson(u, now)),
      );
    ctx.stdout.write(renderUsers(views, now));
    line(ctx.stdout, summaryLine(views, account, inventory.via, { importHint: true }));
    return;
  }

  const { created, skipped } = await importUsers(store, views, {
    account,
    actor: ctx.actor,
    folderUid,
    region,
    credentials,
    schedule,
  });
  for (const c of created) c.view.managedBy = [{ uid: c.stored.uid, title: c.stored.record.title }];
  if (opts.json) {
    return printJson(ctx.stdout, {
      account,
      users: views.map((u) => userJson(u, now)),
      created: created.map((c) => ({
        uid: c.stored.uid,
        title: c.stored.record.title,
        userName: c.view.userName,
      })),
      skipped,
    });
  }
  ctx.stdout.write(renderUsers(views, now));
  line(ctx.stdout, summaryLine(views, account, inventory.via, { importHint: false }));
  for (const s of skipped) line(ctx.stdout, `skipped ${s.userName}: ${s.reason}`);
  for (const c of created)
    line(
      ctx.stdout,
      `created pamUser "${c.stored.record.title}" ${c.stored.uid} for IAM user ${c.view.userName}`,
    );
  line(ctx.stdout, `${created.length} record(s) created, ${skipped.length} user(s) skipped`);
  if (created.length > 0) {
    line(
      ctx.stdout,
      "next: `rekey rotate --all --dry-run` shows each first rotation; run it, or let `rekey gateway` rotate them on schedule. " +
        "The keys found stay Active through the adoption overlap (adopt_existing_keys).",
    );
  }
};

interface ImportOptions {
  account: string;
  actor: string;
  folderUid: string | null;
  region: string | undefined;
  credentials: string | undefined;
  schedule: Schedule | undefined;
}

/**
 * One pamUser record per unmanaged user, and one `discover.import` audit event (also when none was
 * created: the attempt is on record), in one commit where the backend can choose the new UIDs (the local
 * vault: all or nothing, nothing half-imported); else the records in one commit and the event after it.
 * Who manages whom is decided again on a fresh listing just before the commit, so a record created since
 * the user listing (another import) is not doubled.
 */
async function importUsers(store: AsyncVaultStore, views: UserView[], o: ImportOptions) {
  const records = await store.listRecords();
  const taken = new Set(records.map((r) => r.record.title));
  const planned: Array<{ view: UserView; record: KeeperRecord }> = [];
  const skipped: Array<{ userName: string; reason: string }> = [];
  for (const u of views) {
    const managers = managingRecords(u, records, o.account);
    if (managers.length > 0) {
      u.managedBy = managers;
      const list = managers.map((m) => `"${m.title}" (${m.uid})${m.note ? `, ${m.note}` : ""}`);
      skipped.push({ userName: u.userName, reason: `already managed by ${list.join(", ")}` });
      continue;
    }
    const record = adoptionRecord(u, {
      title: importTitle(u.userName, o.account, taken),
      region: o.region,
      credentials: o.credentials,
      schedule: o.schedule,
    });
    planned.push({ view: u, record });
  }
  const uids = capabilitiesOf(store).chosenRecordUids ? planned.map(() => newUid()) : undefined;
  const creates: WriteOp[] = planned.map((p, i) => ({
    op: "createRecord",
    record: p.record,
    folderUid: o.folderUid,
    ...(uids ? { uid: uids[i] } : {}),
  }));
  const audit = (uidsCreated: string[]): WriteOp => ({
    op: "audit",
    event: {
      action: "discover.import",
      recordUid: null,
      actor: o.actor,
      details: { account: o.account, count: uidsCreated.length, records: uidsCreated },
    },
  });
  let stored: StoredRecord[];
  if (uids) {
    stored = (await store.commit([...creates, audit(uids)], { actor: o.actor })).created ?? [];
  } else {
    stored = creates.length ? ((await store.commit(creates, { actor: o.actor })).created ?? []) : [];
    await store.commit([audit(stored.map((s) => s.uid))], { actor: o.actor });
  }
  const created = planned.map((p, i) => ({ view: p.view, stored: stored[i]! }));
  return { created, skipped };
}
