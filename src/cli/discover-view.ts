/**
 * `rekey discover`, pure: which record of the vault manages each IAM user found, what `--import` would
 * create (titles, fields), and how the listing is shown (table, JSON). No I/O: the command
 * (commands/discover.ts) asks AWS and the vault, then hands the facts here.
 */

import type { Schedule } from "../gateway/schedule.js";
import { setRecordSchedule } from "../gateway/schedule-field.js";
import type { DiscoveredKey, DiscoveredUser } from "../providers/aws-iam/discover.js";
import { identityOf, managesIamUser, sameIamUser } from "../rotation/same-user.js";
import { FIELD } from "../rotation/settings.js";
import { type KeeperRecord, newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { printable } from "./printable.js";
import { renderTable } from "./table.js";

export interface ManagingRecord {
  uid: string;
  title: string;
  /** Set when the record names the user's login but another IAM UserId (the user was deleted and re-created). */
  note?: string | undefined;
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * The records that manage `user` of `account`, by the identity rule of rotation/same-user.ts: the same
 * `aws_user_id`, else the same login (any case) in the same account scope.
 *
 * A record's scope is an account id only when its PAM configuration says `awsId`; otherwise it is its
 * credential setting, its configuration, or the shared default, none of which names an account without
 * asking AWS with those credentials. Such a record cannot be told apart from one of this account, so it
 * counts as this account's: wrongly marking a user managed only makes `--import` skip it (and say why),
 * whereas wrongly marking it unmanaged would create a second record for one IAM user, and rotating either
 * would delete the key the other holds. Only a record whose scope is another account id is left out.
 *
 * A record with the user's login but another UserId (a deleted and re-created user) is listed too, with a
 * note: importing a second record would make that pair of duplicates.
 */
export function managingRecords(
  user: Pick<DiscoveredUser, "userName" | "userId">,
  records: readonly StoredRecord[],
  account: string,
): ManagingRecord[] {
  const configurations = records.filter((r) => r.record.type === "pamAwsConfiguration");
  const login = user.userName.toLowerCase();
  const out: ManagingRecord[] = [];
  for (const r of records) {
    if (!managesIamUser(r.record)) continue;
    const id = identityOf(r.record, configurations);
    if (ACCOUNT_ID.test(id.scope) && id.scope !== account) continue;
    const me = { login, userId: user.userId, scope: id.scope };
    if (sameIamUser(id, me)) out.push({ uid: r.uid, title: r.record.title });
    else if (id.login === login) {
      out.push({
        uid: r.uid,
        title: r.record.title,
        note: `its ${FIELD.userId} ${id.userId} is not this user's ${user.userId} (deleted and re-created?)`,
      });
    }
  }
  return out;
}

/**
 * `<UserName> (AWS)`; taken (by any record, or one created in this import): ` [<account>]` appended, then a
 * counter ` (2)`, ` (3)`... Adds the chosen title to `taken`.
 */
export function importTitle(userName: string, account: string, taken: Set<string>): string {
  const plain = `${userName} (AWS)`;
  let title = plain;
  if (taken.has(title)) title = `${plain} [${account}]`;
  for (let n = 2; taken.has(title); n++) title = `${plain} [${account}] (${n})`;
  taken.add(title);
  return title;
}

export interface AdoptionOptions {
  title: string;
  /** --region: the record's aws_region. */
  region?: string | undefined;
  /** --credentials as typed: the record's rotation_credentials, so it rotates with the admin that found it. */
  credentials?: string | undefined;
  schedule?: Schedule | undefined;
}

/**
 * The pamUser record adopting an IAM user: its login, `adopt_existing_keys` = True, and no key or secret
 * (none is known yet: the first rotation creates the key the vault holds). The password stays empty, as in
 * `rekey record add` (a rotation writes a random one).
 */
export function adoptionRecord(user: Pick<DiscoveredUser, "userName">, opts: AdoptionOptions): KeeperRecord {
  const r = newRecord("pamUser", opts.title, "Adopted by rekey discover --import.");
  setFieldValue(r, FIELD.login, user.userName);
  // Read by the rotation engine: the keys found stay Active through an overlap, then are deleted after a
  // grace period, each step checked against the key's last use (see settings.ts).
  setFieldValue(r, FIELD.adopt, "True", { type: "text" });
  if (opts.region) setFieldValue(r, FIELD.region, opts.region, { type: "text" });
  if (opts.credentials) setFieldValue(r, FIELD.credentials, opts.credentials, { type: "text" });
  return opts.schedule ? setRecordSchedule(r, opts.schedule) : r;
}

export interface UserView extends DiscoveredUser {
  managedBy: ManagingRecord[];
}

const DAY_MS = 86_400_000;

function age(created: Date, now: Date): string {
  const days = Math.floor((now.getTime() - created.getTime()) / DAY_MS);
  return days < 1 ? "<1d" : `${days}d`;
}

function lastUsedText(k: DiscoveredKey): string {
  if (k.lastUsed === null) return "never";
  if (k.lastUsed === "denied") return "? (iam:GetAccessKeyLastUsed denied)";
  const when = k.lastUsed.date.toISOString().slice(0, 16).replace("T", " ");
  return `${when}Z ${k.lastUsed.service} ${k.lastUsed.region}`;
}

function managedText(u: UserView): string {
  if (u.managedBy.length === 0) return "-";
  return u.managedBy.map((m) => `"${m.title}" (${m.uid})${m.note ? ` ${m.note}` : ""}`).join(", ");
}

/** One row per key (one row with "-" for a user without keys). */
export function renderUsers(users: readonly UserView[], now: Date): string {
  const rows: string[][] = [];
  for (const u of users) {
    const managed = managedText(u);
    if (u.keys === "denied") {
      rows.push([u.userName, u.path, "? (iam:ListAccessKeys denied)", "", "", "", managed]);
      continue;
    }
    if (u.keys.length === 0) rows.push([u.userName, u.path, "-", "", "", "", managed]);
    for (const [i, k] of u.keys.entries()) {
      rows.push([
        i === 0 ? u.userName : "",
        i === 0 ? u.path : "",
        k.accessKeyId,
        k.status,
        age(k.createDate, now),
        lastUsedText(k),
        i === 0 ? managed : "",
      ]);
    }
  }
  return renderTable(["USER", "PATH", "ACCESS KEY", "STATUS", "AGE", "LAST USED", "MANAGED BY"], rows);
}

/** The --json shape of one user (dates as ISO strings; lastUsed null = never, "denied" = not allowed to ask). */
export function userJson(u: UserView, now: Date) {
  return {
    userName: u.userName,
    userId: u.userId,
    arn: u.arn,
    path: u.path,
    createDate: u.createDate.toISOString(),
    managed: u.managedBy.length > 0,
    managedBy: u.managedBy,
    keys:
      u.keys === "denied"
        ? ("denied" as const)
        : u.keys.map((k) => ({
            accessKeyId: k.accessKeyId,
            status: k.status,
            createDate: k.createDate.toISOString(),
            ageDays: Math.floor((now.getTime() - k.createDate.getTime()) / DAY_MS),
            lastUsed:
              k.lastUsed === null || k.lastUsed === "denied"
                ? k.lastUsed
                : {
                    date: k.lastUsed.date.toISOString(),
                    service: k.lastUsed.service,
                    region: k.lastUsed.region,
                  },
          })),
  };
}

/** "3 IAM user(s) in account 1234…: 1 managed, 2 not" plus what to do next. */
export function summaryLine(
  users: readonly UserView[],
  account: string,
  via: string,
  opts: { importHint: boolean },
): string {
  const managed = users.filter((u) => u.managedBy.length > 0).length;
  const rest = users.length - managed;
  const next =
    rest > 0 && opts.importHint
      ? "; `rekey discover --import` creates a pamUser record for each unmanaged one"
      : "";
  return printable(
    `${users.length} IAM user(s) in account ${account} (credentials: ${via}): ${managed} managed by a record, ${rest} not${next}`,
  );
}
