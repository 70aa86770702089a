/**
 * In-process helpers for test setup (`sandbox.admin`): the same state operations as the IAM actions,
 * without signing requests or policy checks. They throw the AwsError IAM would answer with
 * (e.g. `LimitExceeded` on a third key). Every helper takes an optional `accountId`.
 */

import type { PolicyJson, SandboxDocument } from "./document.js";
import { noSuchEntity } from "./errors.js";
import type { Account, KeyStatus, User } from "./model.js";
import { applyDocument, type SeededKey, snapshotState } from "./snapshot.js";
import type { SandboxState } from "./state.js";

export interface SandboxCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface KeyInfo {
  accessKeyId: string;
  status: KeyStatus;
  createDate: Date;
  lastUsed?: { date: Date; service: string; region: string };
}

export interface InAccount {
  accountId?: string;
}

export interface SandboxAdmin {
  /** A new account (generated 12-digit id when omitted) with its own root credentials. */
  createAccount(accountId?: string): { accountId: string; root: SandboxCredentials };
  createUser(
    userName: string,
    opts?: InAccount & { path?: string },
  ): { userName: string; userId: string; arn: string };
  /**
   * A key for the user (the root when `userName` is null); usable at once (no propagation delay).
   * `createDate` backdates it (IAM dates have whole-second precision, so keys made in one test
   * often share a CreateDate).
   */
  createAccessKey(
    userName: string | null,
    opts?: InAccount & { status?: KeyStatus; createDate?: Date },
  ): SandboxCredentials;
  listKeys(userName: string | null, opts?: InAccount): KeyInfo[];
  updateAccessKey(userName: string | null, accessKeyId: string, status: KeyStatus, opts?: InAccount): void;
  deleteAccessKey(userName: string | null, accessKeyId: string, opts?: InAccount): void;
  deleteUser(userName: string, opts?: InAccount): void;
  putUserPolicy(userName: string, policyName: string, document: PolicyJson, opts?: InAccount): void;
  /** A customer managed policy; returns its ARN. */
  createPolicy(policyName: string, document: PolicyJson, opts?: InAccount & { path?: string }): string;
  attachUserPolicy(userName: string, policyArn: string, opts?: InAccount): void;
  createRole(
    roleName: string,
    trustPolicy: PolicyJson,
    opts?: InAccount & { path?: string; maxSessionDuration?: number; description?: string },
  ): { roleName: string; roleId: string; arn: string };
  putRolePolicy(roleName: string, policyName: string, document: PolicyJson, opts?: InAccount): void;
  attachRolePolicy(roleName: string, policyArn: string, opts?: InAccount): void;
  /** Adds a sandbox document (the seed-file format); returns the keys it created, secrets included. */
  seed(doc: SandboxDocument): Promise<SeededKey[]>;
  /** The state as a sandbox document; secrets and sessions only with `secrets: true`. */
  snapshot(opts?: { secrets?: boolean }): SandboxDocument;
  /** Forgets every user, role, policy and session; accounts and their root keys stay. */
  reset(): void;
}

const text = (doc: PolicyJson) => (typeof doc === "string" ? doc : JSON.stringify(doc));

export function createAdminHelpers(
  state: SandboxState,
  defaultAccountId: string,
  parse: (value: unknown) => Promise<SandboxDocument>,
): SandboxAdmin {
  const account = (opts?: InAccount): Account => {
    const id = opts?.accountId ?? defaultAccountId;
    const a = state.accounts.get(id);
    if (!a) throw noSuchEntity(`The account ${id} cannot be found.`);
    return a;
  };
  const owner = (a: Account, userName: string | null): User | null =>
    userName === null ? null : state.getUser(a, userName);
  const credentials = (k: SandboxCredentials): SandboxCredentials => ({
    accessKeyId: k.accessKeyId,
    secretAccessKey: k.secretAccessKey,
  });

  return {
    createAccount(accountId) {
      let id = accountId;
      while (id === undefined || state.accounts.has(id)) id = state.ids.accountId();
      const a = state.addAccount(id);
      return { accountId: id, root: credentials(state.createAccessKey(a, null)) };
    },
    createUser(userName, opts) {
      const u = state.createUser(account(opts), userName, opts?.path ?? "/");
      return { userName: u.userName, userId: u.userId, arn: u.arn };
    },
    createAccessKey(userName, opts) {
      const a = account(opts);
      return credentials(
        state.createAccessKey(a, owner(a, userName), {
          ...(opts?.status ? { status: opts.status } : {}),
          ...(opts?.createDate ? { createDate: opts.createDate.getTime() } : {}),
        }),
      );
    },
    listKeys(userName, opts) {
      const a = account(opts);
      return state.keysOf(a, owner(a, userName)).map((k) => ({
        accessKeyId: k.accessKeyId,
        status: k.status,
        createDate: new Date(k.createDate),
        ...(k.lastUsed
          ? {
              lastUsed: {
                date: new Date(k.lastUsed.date),
                service: k.lastUsed.service,
                region: k.lastUsed.region,
              },
            }
          : {}),
      }));
    },
    updateAccessKey(userName, accessKeyId, status, opts) {
      const a = account(opts);
      state.updateAccessKey(state.ownedKey(a, owner(a, userName), accessKeyId), status);
    },
    deleteAccessKey(userName, accessKeyId, opts) {
      const a = account(opts);
      state.deleteAccessKey(a, state.ownedKey(a, owner(a, userName), accessKeyId));
    },
    deleteUser(userName, opts) {
      state.deleteUser(account(opts), userName);
    },
    putUserPolicy(userName, policyName, document, opts) {
      state.putInlinePolicy(state.getUser(account(opts), userName), policyName, text(document));
    },
    createPolicy(policyName, document, opts) {
      return state.createPolicy(account(opts), policyName, text(document), { path: opts?.path ?? "/" }).arn;
    },
    attachUserPolicy(userName, policyArn, opts) {
      const a = account(opts);
      state.attachPolicy(a, state.getUser(a, userName), policyArn);
    },
    createRole(roleName, trustPolicy, opts) {
      const r = state.createRole(account(opts), roleName, text(trustPolicy), {
        path: opts?.path ?? "/",
        ...(opts?.maxSessionDuration !== undefined ? { maxSessionDuration: opts.maxSessionDuration } : {}),
        ...(opts?.description !== undefined ? { description: opts.description } : {}),
      });
      return { roleName: r.roleName, roleId: r.roleId, arn: r.arn };
    },
    putRolePolicy(roleName, policyName, document, opts) {
      state.putInlinePolicy(state.getRole(account(opts), roleName), policyName, text(document));
    },
    attachRolePolicy(roleName, policyArn, opts) {
      const a = account(opts);
      state.attachPolicy(a, state.getRole(a, roleName), policyArn);
    },
    async seed(doc) {
      return applyDocument(state, await parse(doc), defaultAccountId);
    },
    snapshot(opts) {
      return snapshotState(state, { secrets: opts?.secrets ?? false });
    },
    reset() {
      state.reset();
    },
  };
}
