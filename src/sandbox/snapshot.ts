/**
 * Between the state and its JSON document (document.ts): `applyDocument` adds a seed or a saved
 * state, all or nothing; `snapshotState` writes the state out.
 */
import type {
  AccountDocument,
  KeyDocument,
  ManagedPolicyDocument,
  PolicyJson,
  SandboxDocument,
  SessionDocument,
} from "./document.js";
import { entityAlreadyExists, limitExceeded, policyNotAttachable } from "./errors.js";
import type { AccessKey, Account, KeyUsage, ManagedPolicy, Role, User } from "./model.js";
import { ACCESS_KEYS_PER_USER, AWS_MANAGED_POLICIES, policyArn, storePolicy } from "./model.js";
import { parsePolicy } from "./policy-eval.js";
import type { SandboxState } from "./state.js";

const policyText = (p: PolicyJson) => (typeof p === "string" ? p : JSON.stringify(p));
const ms = (d: string | undefined) => (d === undefined ? undefined : Date.parse(d));
const iso = (n: number) => new Date(n).toISOString();

/** A key created from a seed: its id and secret (generated ones included), for the caller to report. */
export interface SeededKey {
  accountId: string;
  userName: string | null;
  accessKeyId: string;
  secretAccessKey: string;
}

function keyOptions(k: KeyDocument) {
  const lastUsed: KeyUsage | undefined = k.lastUsed
    ? { date: Date.parse(k.lastUsed.date), service: k.lastUsed.service, region: k.lastUsed.region }
    : undefined;
  const createDate = ms(k.createDate);
  return {
    ...(k.accessKeyId !== undefined ? { accessKeyId: k.accessKeyId } : {}),
    ...(k.secretAccessKey !== undefined ? { secretAccessKey: k.secretAccessKey } : {}),
    ...(k.status !== undefined ? { status: k.status } : {}),
    ...(createDate !== undefined ? { createDate } : {}),
    ...(lastUsed ? { lastUsed } : {}),
    usableAfter: 0,
  };
}

function attachAll(state: SandboxState, account: Account, owner: User | Role, refs: string[] | undefined) {
  for (const ref of refs ?? []) {
    const arn = ref.startsWith("arn:")
      ? ref
      : ([...account.policies.values()].find((p) => p.policyName === ref)?.arn ?? ref);
    state.attachPolicy(account, owner, arn);
  }
}

/**
 * Finds, before anything is changed, what would make `applyDocument` fail halfway: names and key
 * ids that exist already or twice, and malformed policy documents.
 */
function precheck(state: SandboxState, accountDocs: AccountDocument[], sessions: SessionDocument[]): void {
  const seenKeys = new Set<string>();
  const checkKey = (k: KeyDocument) => {
    if (k.accessKeyId === undefined) return;
    if (seenKeys.has(k.accessKeyId) || state.findKey(k.accessKeyId) || state.findSession(k.accessKeyId)) {
      throw entityAlreadyExists(`Access key ${k.accessKeyId} already exists.`);
    }
    seenKeys.add(k.accessKeyId);
  };
  const unique = (kind: string, names: string[], exists: (n: string) => boolean) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n.toLowerCase()) || exists(n))
        throw entityAlreadyExists(`${kind} with name ${n} already exists.`);
      seen.add(n.toLowerCase());
    }
  };
  for (const a of accountDocs) {
    const account = state.accounts.get(a.accountId);
    if ((account?.rootKeys.length ?? 0) + (a.rootKeys?.length ?? 0) > ACCESS_KEYS_PER_USER) {
      throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`);
    }
    a.rootKeys?.forEach(checkKey);
    unique(
      "User",
      (a.users ?? []).map((u) => u.name),
      (n) => !!account && !!state.findUser(account, n),
    );
    unique(
      "Role",
      (a.roles ?? []).map((r) => r.name),
      (n) => !!account && !!state.findRole(account, n),
    );
    unique(
      "Policy",
      (a.policies ?? []).map((p) => p.name),
      (n) =>
        !!account &&
        [...account.policies.values()].some((p) => p.policyName.toLowerCase() === n.toLowerCase()),
    );
    for (const p of a.policies ?? []) parsePolicy(policyText(p.document), "identity");
    const docPolicies = new Set(
      (a.policies ?? []).flatMap((p) => [p.name, policyArn(a.accountId, p.path ?? "/", p.name)]),
    );
    const checkAttached = (refs: string[] | undefined) => {
      for (const ref of refs ?? []) {
        const known =
          docPolicies.has(ref) ||
          AWS_MANAGED_POLICIES.has(ref) ||
          (!!account && [...account.policies.values()].some((p) => p.arn === ref || p.policyName === ref));
        if (!known) throw policyNotAttachable(ref);
      }
    };
    for (const u of a.users ?? []) {
      checkAttached(u.attachedPolicies);
      u.keys?.forEach(checkKey);
      for (const p of Object.values(u.inlinePolicies ?? {})) parsePolicy(policyText(p), "identity");
    }
    for (const r of a.roles ?? []) {
      checkAttached(r.attachedPolicies);
      parsePolicy(policyText(r.trustPolicy), "trust");
      for (const p of Object.values(r.inlinePolicies ?? {})) parsePolicy(policyText(p), "identity");
    }
  }
  for (const s of sessions) {
    if (seenKeys.has(s.accessKeyId) || state.findKey(s.accessKeyId) || state.findSession(s.accessKeyId)) {
      throw entityAlreadyExists(`Access key ${s.accessKeyId} already exists.`);
    }
    seenKeys.add(s.accessKeyId);
  }
}

/**
 * Adds everything in the document to the state (existing accounts are merged into; existing users,
 * roles, policies or key ids are an EntityAlreadyExists error). Returns the keys it created.
 */
export function applyDocument(
  state: SandboxState,
  doc: SandboxDocument,
  defaultAccountId: string,
): SeededKey[] {
  const created: SeededKey[] = [];
  const accountDocs: AccountDocument[] = [...(doc.accounts ?? [])];
  if (doc.users || doc.policies || doc.roles) {
    accountDocs.push({
      accountId: defaultAccountId,
      ...(doc.policies ? { policies: doc.policies } : {}),
      ...(doc.users ? { users: doc.users } : {}),
      ...(doc.roles ? { roles: doc.roles } : {}),
    });
  }
  precheck(state, accountDocs, doc.sessions ?? []);
  for (const a of accountDocs) {
    const account = state.accounts.get(a.accountId) ?? state.addAccount(a.accountId, ms(a.createDate));
    const record = (key: AccessKey) =>
      created.push({
        accountId: account.accountId,
        userName: key.userName,
        accessKeyId: key.accessKeyId,
        secretAccessKey: key.secretAccessKey,
      });
    for (const k of a.rootKeys ?? []) record(state.createAccessKey(account, null, keyOptions(k)));
    for (const p of a.policies ?? []) {
      const createDate = ms(p.createDate);
      state.createPolicy(account, p.name, policyText(p.document), {
        ...(p.path !== undefined ? { path: p.path } : {}),
        ...(p.description !== undefined ? { description: p.description } : {}),
        ...(p.policyId !== undefined ? { policyId: p.policyId } : {}),
        ...(createDate !== undefined ? { createDate } : {}),
      });
    }
    for (const u of a.users ?? []) {
      const createDate = ms(u.createDate);
      const user = state.createUser(account, u.name, u.path ?? "/", {
        ...(u.userId !== undefined ? { userId: u.userId } : {}),
        ...(createDate !== undefined ? { createDate } : {}),
      });
      for (const k of u.keys ?? []) record(state.createAccessKey(account, user, keyOptions(k)));
      for (const [name, p] of Object.entries(u.inlinePolicies ?? {}))
        state.putInlinePolicy(user, name, policyText(p));
      attachAll(state, account, user, u.attachedPolicies);
    }
    for (const r of a.roles ?? []) {
      const createDate = ms(r.createDate);
      const role = state.createRole(account, r.name, policyText(r.trustPolicy), {
        ...(r.path !== undefined ? { path: r.path } : {}),
        ...(r.description !== undefined ? { description: r.description } : {}),
        ...(r.maxSessionDuration !== undefined ? { maxSessionDuration: r.maxSessionDuration } : {}),
        ...(r.roleId !== undefined ? { roleId: r.roleId } : {}),
        ...(createDate !== undefined ? { createDate } : {}),
      });
      for (const [name, p] of Object.entries(r.inlinePolicies ?? {}))
        state.putInlinePolicy(role, name, policyText(p));
      attachAll(state, account, role, r.attachedPolicies);
    }
  }
  for (const s of doc.sessions ?? []) {
    state.addSession({
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      sessionToken: s.sessionToken,
      expiration: Date.parse(s.expiration),
      accountId: s.accountId,
      roleName: s.roleName,
      sessionName: s.sessionName,
      ...(s.sessionPolicy !== undefined
        ? { sessionPolicy: storePolicy(policyText(s.sessionPolicy), "identity") }
        : {}),
      chained: s.chained ?? false,
    });
  }
  return created;
}

function keyDocument(k: AccessKey, secrets: boolean): KeyDocument {
  return {
    accessKeyId: k.accessKeyId,
    ...(secrets ? { secretAccessKey: k.secretAccessKey } : {}),
    status: k.status,
    createDate: iso(k.createDate),
    ...(k.lastUsed
      ? { lastUsed: { date: iso(k.lastUsed.date), service: k.lastUsed.service, region: k.lastUsed.region } }
      : {}),
  };
}

const inlineDocs = (m: Map<string, { text: string }>) =>
  Object.fromEntries([...m].map(([name, p]) => [name, JSON.parse(p.text) as Record<string, unknown>]));

function policyDocument(p: ManagedPolicy): ManagedPolicyDocument {
  return {
    name: p.policyName,
    path: p.path,
    policyId: p.policyId,
    ...(p.description !== undefined ? { description: p.description } : {}),
    createDate: iso(p.createDate),
    document: JSON.parse(p.policy.text) as Record<string, unknown>,
  };
}

/**
 * The whole state as a document. Without `secrets`, secret access keys and sessions are left out
 * (for display); the state file is written with them.
 */
export function snapshotState(state: SandboxState, opts: { secrets: boolean }): SandboxDocument {
  const accounts: AccountDocument[] = [...state.accounts.values()].map((a) => ({
    accountId: a.accountId,
    createDate: iso(a.createDate),
    rootKeys: a.rootKeys.map((k) => keyDocument(k, opts.secrets)),
    policies: [...a.policies.values()].map(policyDocument),
    users: [...a.users.values()].map((u) => ({
      name: u.userName,
      path: u.path,
      userId: u.userId,
      createDate: iso(u.createDate),
      keys: u.accessKeys.map((k) => keyDocument(k, opts.secrets)),
      inlinePolicies: inlineDocs(u.inlinePolicies),
      attachedPolicies: [...u.attachedPolicies],
    })),
    roles: [...a.roles.values()].map((r) => ({
      name: r.roleName,
      path: r.path,
      roleId: r.roleId,
      ...(r.description !== undefined ? { description: r.description } : {}),
      createDate: iso(r.createDate),
      maxSessionDuration: r.maxSessionDuration,
      trustPolicy: JSON.parse(r.trustPolicy.text) as Record<string, unknown>,
      inlinePolicies: inlineDocs(r.inlinePolicies),
      attachedPolicies: [...r.attachedPolicies],
    })),
  }));
  const doc: SandboxDocument = { version: 1, accounts };
  if (opts.secrets) {
    doc.sessions = [...state.sessions()].map((s) => ({
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      sessionToken: s.sessionToken,
      expiration: iso(s.expiration),
      accountId: s.accountId,
      roleName: s.roleName,
      sessionName: s.sessionName,
      ...(s.sessionPolicy ? { sessionPolicy: s.sessionPolicy.text } : {}),
      chained: s.chained,
    }));
  }
  return doc;
}
