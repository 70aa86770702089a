/**
 * Shared by the HTTP module's tests: a real SQLite vault with managed users whose secrets are known (so a
 * test can scan every response for them), rotation history entries, and a GatewayHandle as a plain object
 * (the real gateway is wired in later; its adapter is tested against createGateway itself).
 */

import { type RotationAttemptInput, toAuditEvent } from "../gateway/history-model.js";
import { parseAttempt } from "../gateway/history-schema.js";
import { parseSchedule } from "../gateway/schedule.js";
import { setRecordSchedule } from "../gateway/schedule-field.js";
import type { GatewayHandle, RotateRequest } from "../http/gateway-handle.js";
import { GatewayMetrics } from "../http/metrics.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import { type TempVault, tempVault } from "./vault.js";

export const TOKENS = { ops: "ops-token-0123456789abcdef", ci: "ci-token-fedcba9876543210" } as const;
const DAY = 86_400_000;

export interface ManagedUser {
  uid: string;
  title: string;
  login: string;
  keyId: string;
  secret: string;
  password: string;
}

export interface HttpFixture {
  vault: TempVault;
  store: AsyncVaultStore;
  now: Date;
  users: ManagedUser[];
  /** Every secret value in the vault: none may ever appear in a response. */
  secrets: string[];
  cleanup(): void;
}

/** A pamUser record with a key of `ageDays`, on `schedule`. */
export function managedUser(
  title: string,
  login: string,
  o: { keyId: string; secret: string; createdAt: Date; schedule?: string; password: string },
) {
  let r = newRecord("pamUser", title);
  setFieldValue(r, "login", login);
  setFieldValue(r, "password", o.password);
  setFieldValue(r, "aws_access_key_id", o.keyId, { type: "text" });
  setFieldValue(r, "aws_secret_access_key", o.secret, { type: "secret" });
  setFieldValue(r, "CreateDate", o.createdAt.toISOString(), { type: "text" });
  if (o.schedule) r = setRecordSchedule(r, parseSchedule(o.schedule));
  return r;
}

/**
 * Three managed users (a fresh key, one past 90 days, one whose last rotation failed) and an admin
 * credential record, in a fresh vault.
 */
export async function httpFixture(now = new Date()): Promise<HttpFixture> {
  const vault = await tempVault();
  const sync = vault.store;
  const users: ManagedUser[] = [];
  const secrets: string[] = [];
  const specs = [
    { title: "fresh <b>app</b>", login: "app-fresh", age: 3, schedule: "every 30d" },
    { title: "old app", login: "app-old", age: 120, schedule: "every 90d" },
    { title: "broken app", login: "app-broken", age: 40, schedule: "every 30d" },
  ];
  specs.forEach((s, i) => {
    const keyId = `AKIATESTKEY0000000${i}`;
    const secret = `SeCrEt${i}wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`;
    const password = `pw-${i}-correct-horse-battery`;
    const rec = sync.createRecord(
      managedUser(s.title, s.login, {
        keyId,
        secret,
        password,
        createdAt: new Date(now.getTime() - s.age * DAY),
        schedule: s.schedule,
      }),
      { actor: "test" },
    );
    users.push({ uid: rec.uid, title: s.title, login: s.login, keyId, secret, password });
    secrets.push(secret, password);
  });
  const admin = newRecord("login", "admin key");
  setFieldValue(admin, "aws_access_key_id", "AKIAADMIN00000000000", { type: "text" });
  setFieldValue(admin, "aws_secret_access_key", "AdminSecretValue0123456789abcdefghijklmn", {
    type: "secret",
  });
  sync.createRecord(admin, { actor: "test" });
  secrets.push("AdminSecretValue0123456789abcdefghijklmn", ...Object.values(TOKENS));

  // History: the fresh one succeeded 3 days ago, the broken one failed yesterday.
  const attempt = (u: ManagedUser, id: string, at: Date, over: Partial<RotationAttemptInput>) => {
    const e = parseAttempt({
      id,
      recordUid: u.uid,
      recordTitle: u.title,
      user: u.login,
      trigger: "schedule",
      attempt: 1,
      startedAt: at.toISOString(),
      endedAt: new Date(at.getTime() + 2500).toISOString(),
      outcome: "succeeded",
      keyIds: { created: u.keyId, deleted: [], deactivated: [] },
      final: true,
      ...over,
    });
    sync.appendRotationHistory(e, toAuditEvent(e));
  };
  attempt(users[0]!, "att-fresh-1", new Date(now.getTime() - 3 * DAY), {});
  attempt(users[2]!, "att-broken-1", new Date(now.getTime() - DAY), {
    outcome: "failed",
    keyIds: { created: null, deleted: [], deactivated: [] },
    error: { message: "AccessDenied: iam:CreateAccessKey on user app-broken", kind: "auth" },
  });
  return { vault, store: toAsyncStore(sync), now, users, secrets, cleanup: () => vault.cleanup() };
}

/** A gateway handle as a plain object: its rotate records the calls (or runs `rotate` when given). */
export function fakeGatewayHandle(
  o: { rotate?: (uid: string, actor: string) => Promise<RotateRequest>; noRotate?: boolean } = {},
) {
  const calls: Array<{ uid: string; actor: string }> = [];
  let n = 0;
  const handle: GatewayHandle & { calls: typeof calls } = {
    calls,
    metrics: new GatewayMetrics(),
    state: () => ({
      startedAt: "2024-01-01T00:00:00.000Z",
      lastTickAt: "2024-01-01T00:01:00.000Z",
      vaultReachable: true,
      running: 0,
      queued: 0,
      runningRecords: [],
    }),
    ...(o.noRotate
      ? {}
      : {
          rotateNow: async (uid: string, actor: string): Promise<RotateRequest> => {
            calls.push({ uid, actor });
            if (o.rotate) return o.rotate(uid, actor);
            return { queued: true, attemptId: `attempt-${++n}` };
          },
        }),
  };
  return handle;
}
