/**
 * IAM-user identities indexed the way rotation/same-user.ts's `sameIamUser` compares them (the same UserId
 * when both carry one, else the same non-empty login in the same account scope), so a lookup looks only at
 * the entries it can match instead of every one: what `rekey import csv` and `rekey status` check at 100,000
 * records. Three maps:
 * - `byUserId`: the same UserId (matches when both carry one);
 * - `byLoginNoId`: the same scope and login, among entries without a UserId (matches whatever the query has);
 * - `byLogin`: the same scope and login, all entries (matches a query without a UserId).
 * A query with a UserId matches `byUserId[its id]` and `byLoginNoId[its login]`; one without matches
 * `byLogin[its login]`. Every entry of those lists is a match (but for the query's own UID, which the rule
 * excludes), so the work per lookup is the matches it reports.
 */
import type { IamUserIdentity } from "./same-user.js";

/** Identities indexed the way `sameIamUser` compares them; entries kept in insertion order. */
export class IdentityIndex<T extends { uid: string; at: number }> {
  private readonly byUserId = new Map<string, T[]>();
  private readonly byLoginNoId = new Map<string, T[]>();
  private readonly byLogin = new Map<string, T[]>();

  add(id: IamUserIdentity, entry: T): void {
    if (id.userId) push(this.byUserId, id.userId, entry);
    if (id.login) {
      const key = loginKey(id);
      push(this.byLogin, key, entry);
      if (!id.userId) push(this.byLoginNoId, key, entry);
    }
  }

  /** Every entry that is the same IAM user as `id` (other than `uid`), in insertion order. */
  matches(id: IamUserIdentity, uid: string): T[] {
    const key = id.login ? loginKey(id) : undefined;
    if (!id.userId) return key ? others(this.byLogin.get(key), uid) : [];
    const a = others(this.byUserId.get(id.userId), uid);
    const b = key ? others(this.byLoginNoId.get(key), uid) : [];
    // The two lists are disjoint (with and without a UserId); merged back into insertion order.
    return b.length === 0 ? a : a.length === 0 ? b : [...a, ...b].sort((x, y) => x.at - y.at);
  }

  /** The first entry that is the same IAM user as `id` (other than `uid`), without building the list. */
  first(id: IamUserIdentity, uid: string): T | undefined {
    const key = id.login ? loginKey(id) : undefined;
    const firstOf = (list: T[] | undefined) => list?.find((e) => e.uid !== uid);
    if (!id.userId) return key ? firstOf(this.byLogin.get(key)) : undefined;
    const a = firstOf(this.byUserId.get(id.userId));
    const b = key ? firstOf(this.byLoginNoId.get(key)) : undefined;
    if (!a) return b;
    if (!b) return a;
    return a.at <= b.at ? a : b;
  }
}

const loginKey = (id: IamUserIdentity) => `${id.scope}\n${id.login}`;

/** The entries of `list` other than `uid`'s; a list of one (the common case: no other record) costs nothing. */
function others<T extends { uid: string }>(list: T[] | undefined, uid: string): T[] {
  if (list === undefined || (list.length === 1 && list[0]!.uid === uid)) return [];
  return list.filter((e) => e.uid !== uid);
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}
