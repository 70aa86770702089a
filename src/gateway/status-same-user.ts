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
import { IdentityIndex } from "../rotation/identity-index.js";
import { type IamUserIdentity, identityOf } from "../rotation/same-user.js";
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
  const index = new IdentityIndex<{ uid: string; at: number; title: string }>();
  users.forEach((u, at) => {
    index.add(u.id, { uid: u.uid, at, title: u.title });
  });
  const seen = new Set<string>();
  const out = new Map<string, Array<{ uid: string; title: string }>>();
  for (const u of users) {
    if (seen.has(u.uid)) continue;
    // Every record that is the same IAM user (`sameIamUser`), in listing order.
    const same = index.matches(u.id, u.uid);
    if (same.length === 0) continue;
    const group = [u, ...same];
    for (const r of group) seen.add(r.uid);
    for (const r of group) {
      out.set(
        r.uid,
        group.filter((o) => o.uid !== r.uid).map((o) => ({ uid: o.uid, title: o.title })),
      );
    }
  }
  return out;
}
