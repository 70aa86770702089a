/**
 * The sandbox's IAM world: accounts, users, access keys, managed and inline policies, roles and STS
 * sessions, with IAM's own rules (2 keys per user, Inactive counting; names unique
 * case-insensitively; DeleteConflict while a user still has keys or policies). Mutations throw the
 * AwsError IAM would answer with. No HTTP here; the action handlers and the admin helpers share it.
 */
import {
  deleteConflict,
  entityAlreadyExists,
  keyNotFound,
  limitExceeded,
  noSuchEntity,
  policyNotAttachable,
  roleNotFound,
  userNotFound,
} from "./errors.js";
import { KeyListLag } from "./key-list-lag.js";
import {
  ACCESS_KEYS_PER_USER,
  type AccessKey,
  type Account,
  AWS_MANAGED_POLICIES,
  INLINE_ROLE_POLICY_MAX,
  INLINE_USER_POLICY_MAX,
  type KeyStatus,
  MANAGED_POLICIES_PER_ENTITY,
  MANAGED_POLICY_MAX,
  type ManagedPolicy,
  type NewKeyOptions,
  policyArn,
  type Role,
  roleArn,
  type Session,
  storePolicy,
  type User,
  userArn,
} from "./model.js";
import type { PolicyDocument } from "./policy-eval.js";
import type { IdFactory } from "./random.js";
import { newSecretAccessKey } from "./random.js";

/** Sessions are kept this long after they expire so that their use answers ExpiredToken. */
const EXPIRED_SESSION_RETENTION_MS = 12 * 3600 * 1000;

export class SandboxState {
  readonly accounts = new Map<string, Account>();
  readonly #keys = new Map<string, AccessKey>();
  readonly #sessions = new Map<string, Session>();
  readonly ids: IdFactory;
  readonly now: () => number;
  /** ListAccessKeys' view of recent key changes (the staleListMs knob sets its window). */
  readonly keyListLag = new KeyListLag();
  #onChange: () => void = () => {};

  constructor(ids: IdFactory, now: () => number = Date.now) {
    this.ids = ids;
    this.now = now;
  }

  /** Called after every mutation (for the state file). */
  setOnChange(listener: () => void): void {
    this.#onChange = listener;
  }

  changed(): void {
    this.#onChange();
  }

  addAccount(accountId: string, createDate = this.now()): Account {
    if (this.accounts.has(accountId)) throw entityAlreadyExists(`Account ${accountId} already exists.`);
    const account: Account = {
      accountId,
      createDate,
      rootKeys: [],
      users: new Map(),
      roles: new Map(),
      policies: new Map(),
    };
    this.accounts.set(accountId, account);
    this.changed();
    return account;
  }

  // ---- users -------------------------------------------------------------------------------

  findUser(account: Account, name: string): User | undefined {
    return account.users.get(name.toLowerCase());
  }

  getUser(account: Account, name: string): User {
    const user = this.findUser(account, name);
    if (!user) throw userNotFound(name);
    return user;
  }

  createUser(
    account: Account,
    name: string,
    path = "/",
    opts: { userId?: string; createDate?: number } = {},
  ): User {
    if (this.findUser(account, name)) throw entityAlreadyExists(`User with name ${name} already exists.`);
    const user: User = {
      userName: name,
      path,
      userId: opts.userId ?? this.ids.userId(),
      arn: userArn(account.accountId, path, name),
      createDate: opts.createDate ?? this.now(),
      accessKeys: [],
      inlinePolicies: new Map(),
      attachedPolicies: [],
    };
    account.users.set(name.toLowerCase(), user);
    this.changed();
    return user;
  }

  deleteUser(account: Account, name: string): void {
    const user = this.getUser(account, name);
    if (user.accessKeys.length > 0)
      throw deleteConflict("Cannot delete entity, must delete access keys first.");
    if (user.inlinePolicies.size > 0)
      throw deleteConflict("Cannot delete entity, must delete policies first.");
    if (user.attachedPolicies.length > 0) {
      throw deleteConflict("Cannot delete entity, must detach all policies first.");
    }
    account.users.delete(name.toLowerCase());
    this.changed();
  }

  // ---- access keys -------------------------------------------------------------------------

  findKey(accessKeyId: string): AccessKey | undefined {
    return this.#keys.get(accessKeyId);
  }

  keysOf(account: Account, user: User | null): AccessKey[] {
    return user ? user.accessKeys : account.rootKeys;
  }

  /** The keys as ListAccessKeys answers them now: up to `keyListLag.windowMs` old. */
  listedKeys(account: Account, user: User | null, now: number): readonly AccessKey[] {
    return this.keyListLag.view(this.keysOf(account, user), now);
  }

  /** The key array `key` sits in (its user's, or its account root's). */
  #keyArrayOf(key: AccessKey): AccessKey[] | undefined {
    const account = this.accounts.get(key.accountId);
    if (!account) return undefined;
    if (key.userName === null) return account.rootKeys;
    return this.findUser(account, key.userName)?.accessKeys;
  }

  /** Creates a key for a user (or the root when `user` is null), enforcing the 2-key quota. */
  createAccessKey(account: Account, user: User | null, opts: NewKeyOptions = {}): AccessKey {
    const keys = this.keysOf(account, user);
    if (keys.length >= ACCESS_KEYS_PER_USER) {
      throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`);
    }
    let id = opts.accessKeyId;
    if (id !== undefined && (this.#keys.has(id) || this.#sessions.has(id))) {
      throw entityAlreadyExists(`Access key ${id} already exists.`);
    }
    while (id === undefined || this.#keys.has(id)) id = this.ids.accessKeyId();
    const createDate = opts.createDate ?? this.now();
    this.keyListLag.beforeChange(keys, this.now());
    const key: AccessKey = {
      accessKeyId: id,
      secretAccessKey: opts.secretAccessKey ?? newSecretAccessKey(),
      status: opts.status ?? "Active",
      createDate,
      usableAfter: opts.usableAfter ?? createDate,
      accountId: account.accountId,
      userName: user ? user.userName : null,
      ...(opts.lastUsed ? { lastUsed: opts.lastUsed } : {}),
    };
    keys.push(key);
    this.#keys.set(id, key);
    this.changed();
    return key;
  }

  /** The key `accessKeyId` of that user (or root); NoSuchEntity when it is not theirs. */
  ownedKey(account: Account, user: User | null, accessKeyId: string): AccessKey {
    const key = this.keysOf(account, user).find((k) => k.accessKeyId === accessKeyId);
    if (!key) throw keyNotFound(accessKeyId);
    return key;
  }

  updateAccessKey(key: AccessKey, status: KeyStatus): void {
    const keys = this.#keyArrayOf(key);
    if (keys) this.keyListLag.beforeChange(keys, this.now());
    key.status = status;
    this.changed();
  }

  deleteAccessKey(account: Account, key: AccessKey): void {
    const user = key.userName === null ? null : this.findUser(account, key.userName);
    const keys = this.keysOf(account, user ?? null);
    const i = keys.indexOf(key);
    this.keyListLag.beforeChange(keys, this.now());
    if (i >= 0) keys.splice(i, 1);
    this.#keys.delete(key.accessKeyId);
    this.changed();
  }

  // ---- managed and inline policies ---------------------------------------------------------

  createPolicy(
    account: Account,
    name: string,
    text: string,
    opts: { path?: string; description?: string; policyId?: string; createDate?: number } = {},
  ): ManagedPolicy {
    const path = opts.path ?? "/";
    const arn = policyArn(account.accountId, path, name);
    for (const p of account.policies.values()) {
      if (p.policyName.toLowerCase() === name.toLowerCase()) {
        throw entityAlreadyExists(`A policy called ${name} already exists. Duplicate names are not allowed.`);
      }
    }
    if (text.length > MANAGED_POLICY_MAX) {
      throw limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_MAX}`);
    }
    const created = opts.createDate ?? this.now();
    const policy: ManagedPolicy = {
      policyName: name,
      path,
      policyId: opts.policyId ?? this.ids.policyId(),
      arn,
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      createDate: created,
      updateDate: created,
      policy: storePolicy(text, "identity"),
    };
    account.policies.set(arn, policy);
    this.changed();
    return policy;
  }

  /** A managed policy attachable in this account: its own, or an AWS managed one. */
  resolvePolicy(account: Account, arn: string): ManagedPolicy {
    const policy = account.policies.get(arn) ?? AWS_MANAGED_POLICIES.get(arn);
    if (!policy) throw policyNotAttachable(arn);
    return policy;
  }

  attachmentCount(arn: string): number {
    let n = 0;
    for (const account of this.accounts.values()) {
      for (const u of account.users.values()) if (u.attachedPolicies.includes(arn)) n++;
      for (const r of account.roles.values()) if (r.attachedPolicies.includes(arn)) n++;
    }
    return n;
  }

  putInlinePolicy(owner: User | Role, name: string, text: string): void {
    const isUser = "userName" in owner;
    const max = isUser ? INLINE_USER_POLICY_MAX : INLINE_ROLE_POLICY_MAX;
    if (text.replace(/\s/g, "").length > max) {
      const who = isUser ? `user ${owner.userName}` : `role ${owner.roleName}`;
      throw limitExceeded(`Maximum policy size of ${max} bytes exceeded for ${who}.`);
    }
    owner.inlinePolicies.set(name, storePolicy(text, "identity"));
    this.changed();
  }

  deleteInlinePolicy(owner: User | Role, name: string): void {
    if (!owner.inlinePolicies.delete(name)) {
      const who = "userName" in owner ? `user ${owner.userName}` : `role ${owner.roleName}`;
      throw noSuchInlinePolicy(name, who);
    }
    this.changed();
  }

  attachPolicy(account: Account, owner: User | Role, arn: string): void {
    this.resolvePolicy(account, arn);
    if (owner.attachedPolicies.includes(arn)) return;
    if (owner.attachedPolicies.length >= MANAGED_POLICIES_PER_ENTITY) {
      const what = "userName" in owner ? "PoliciesPerUser" : "PoliciesPerRole";
      throw limitExceeded(`Cannot exceed quota for ${what}: ${MANAGED_POLICIES_PER_ENTITY}`);
    }
    owner.attachedPolicies.push(arn);
    this.changed();
  }

  detachPolicy(owner: User | Role, arn: string): void {
    const i = owner.attachedPolicies.indexOf(arn);
    if (i < 0) throw policyNotAttachedError(arn);
    owner.attachedPolicies.splice(i, 1);
    this.changed();
  }

  /** Every identity-policy document of a user or role: inline first, then attached. */
  policiesOf(account: Account, owner: User | Role): PolicyDocument[] {
    const docs: PolicyDocument[] = [];
    for (const p of owner.inlinePolicies.values()) docs.push(p.doc);
    for (const arn of owner.attachedPolicies) {
      const policy = account.policies.get(arn) ?? AWS_MANAGED_POLICIES.get(arn);
      if (policy) docs.push(policy.policy.doc);
    }
    return docs;
  }

  // ---- roles -------------------------------------------------------------------------------

  findRole(account: Account, name: string): Role | undefined {
    return account.roles.get(name.toLowerCase());
  }

  getRole(account: Account, name: string): Role {
    const role = this.findRole(account, name);
    if (!role) throw roleNotFound(name);
    return role;
  }

  createRole(
    account: Account,
    name: string,
    trustPolicyText: string,
    opts: {
      path?: string;
      description?: string;
      maxSessionDuration?: number;
      roleId?: string;
      createDate?: number;
    } = {},
  ): Role {
    if (this.findRole(account, name)) throw entityAlreadyExists(`Role with name ${name} already exists.`);
    const path = opts.path ?? "/";
    const role: Role = {
      roleName: name,
      path,
      roleId: opts.roleId ?? this.ids.roleId(),
      arn: roleArn(account.accountId, path, name),
      createDate: opts.createDate ?? this.now(),
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      maxSessionDuration: opts.maxSessionDuration ?? 3600,
      trustPolicy: storePolicy(trustPolicyText, "trust"),
      inlinePolicies: new Map(),
      attachedPolicies: [],
    };
    account.roles.set(name.toLowerCase(), role);
    this.changed();
    return role;
  }

  // ---- STS sessions ------------------------------------------------------------------------

  newSessionKeyId(): string {
    let id = this.ids.sessionAccessKeyId();
    while (this.#sessions.has(id) || this.#keys.has(id)) id = this.ids.sessionAccessKeyId();
    return id;
  }

  addSession(session: Session): void {
    this.pruneSessions();
    this.#sessions.set(session.accessKeyId, session);
    this.changed();
  }

  findSession(accessKeyId: string): Session | undefined {
    return this.#sessions.get(accessKeyId);
  }

  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  pruneSessions(): void {
    const cutoff = this.now() - EXPIRED_SESSION_RETENTION_MS;
    for (const [id, s] of this.#sessions) if (s.expiration < cutoff) this.#sessions.delete(id);
  }

  /** Forgets every entity and session (the accounts and their root keys stay). */
  reset(): void {
    for (const account of this.accounts.values()) {
      for (const u of account.users.values()) for (const k of u.accessKeys) this.#keys.delete(k.accessKeyId);
      account.users.clear();
      account.roles.clear();
      account.policies.clear();
    }
    this.#sessions.clear();
    this.changed();
  }

  /** Registers a root key created elsewhere (seed or options); replaces the root keys when `replace`. */
  setRootKey(account: Account, opts: NewKeyOptions, replace: boolean): AccessKey {
    if (replace) {
      for (const k of account.rootKeys) this.#keys.delete(k.accessKeyId);
      account.rootKeys = [];
    }
    return this.createAccessKey(account, null, opts);
  }
}

function noSuchInlinePolicy(name: string, who: string) {
  return noSuchEntity(`The ${who.split(" ")[0]} policy with name ${name} cannot be found.`);
}

function policyNotAttachedError(arn: string) {
  return noSuchEntity(`Policy ${arn} was not found.`);
}
