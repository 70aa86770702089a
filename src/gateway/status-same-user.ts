/**
 * `duplicateGroups` (rotation/same-user.ts) for `rekey status`, from the identities alone and indexed: the same
 * answer for each record (the other records of the group it was put in), in time linear in the number of
 * records rather than quadratic (100,000 records took hours), and from a first pass that keeps only UIDs,
 * titles and identities, not the decrypted records.
 *
 * Same semantics, kept on purpose: records are taken in order; a record not yet in a group forms one with
 * every record that is the same IAM user as it (`sameIamUser`), seen or not; a record in two groups is shown
 * with the later one. Identities are those `duplicateGroups` computes: among pamUser records only, so with no
 * PAM configuration (the account scope is the admin-credential setting, else one shared scope).
 */
import { type IamUserIdentity, identityOf, sameIamUser } from "../rotation/same-user.js";
import type { KeeperRecord } from "../vault/record.js";

export interface UserIdentity {
  uid: string;
  title: string;
  id: IamUserIdentity;
}

/** The identity `duplicateGroups` compares a pamUser record by. */
export function userIdentity(uid: string, record: KeeperRecord): UserIdentity {
  return { uid, title: record.title, id: identityOf(record, []) };
}

/** For each record in a group of two or more, the other records of its group (in listing order). */
export function sameUserIndex(
  users: readonly UserIdentity[],
): Map<string, Array<{ uid: string; title: string }>> {
  const byUserId = new Map<string, number[]>();
  const byLogin = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, key: string, i: number) => {
    const list = m.get(key);
    if (list) list.push(i);
    else m.set(key, [i]);
  };
  const loginKey = (id: IamUserIdentity) => `${id.scope}\n${id.login}`;
  users.forEach((u, i) => {
    if (u.id.userId) add(byUserId, u.id.userId, i);
    if (u.id.login) add(byLogin, loginKey(u.id), i);
  });
  const seen = new Set<string>();
  const out = new Map<string, Array<{ uid: string; title: string }>>();
  users.forEach((u, i) => {
    if (seen.has(u.uid)) return;
    // Every record sameIamUser can match: the same UserId, or the same login in the same scope.
    const candidates = new Set([
      ...(u.id.userId ? (byUserId.get(u.id.userId) ?? []) : []),
      ...(u.id.login ? (byLogin.get(loginKey(u.id)) ?? []) : []),
    ]);
    const same = [...candidates]
      .filter((j) => j !== i && users[j]!.uid !== u.uid && sameIamUser(u.id, users[j]!.id))
      .sort((a, b) => a - b)
      .map((j) => users[j]!);
    if (same.length === 0) return;
    const group = [u, ...same];
    for (const r of group) seen.add(r.uid);
    for (const r of group) {
      out.set(
        r.uid,
        group.filter((o) => o.uid !== r.uid).map((o) => ({ uid: o.uid, title: o.title })),
      );
    }
  });
  return out;
}
