/**
 * IAM actions on users and their access keys. Each checks its parameters (ValidationError), then
 * authorizes against the target user's ARN (AccessDenied before NoSuchEntity, as in AWS), then acts.
 */
import type { ActionContext, ActionHandler } from "./action-context.js";
import type { ResourceRef } from "./authorize.js";
import { keyNotFound, validationError } from "./errors.js";
import { accessKeyMetadataXml, accessKeyXml, rootUserXml, userXml } from "./iam-xml.js";
import { type Account, type User, userArn } from "./model.js";
import { ParamReader, paginate, RULES } from "./params.js";
import { el, members, node } from "./query-protocol.js";
import type { SandboxState } from "./state.js";

export function userRef(state: SandboxState, account: Account, name: string): ResourceRef {
  const user = state.findUser(account, name);
  return { arn: user?.arn ?? userArn(account.accountId, "/", name), label: `user ${name}` };
}

const NON_USER = "Must specify userName when calling with non-User credentials";

/**
 * The user an action is about: the named one, or else the caller (the root's own keys when the
 * caller is the root). Authorizes `action` on it first.
 */
export function targetUser(ctx: ActionContext, userName: string | undefined, action: string): User | null {
  const { state, principal } = ctx;
  if (userName !== undefined) {
    ctx.authorize(action, userRef(state, principal.account, userName));
    return state.getUser(principal.account, userName);
  }
  if (principal.kind === "root") return null;
  if (principal.kind === "user") {
    ctx.authorize(action, { arn: principal.user.arn, label: `user ${principal.user.userName}` });
    return principal.user;
  }
  throw validationError(NON_USER);
}

const createUser: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("UserName", { ...RULES.newUserName, required: true });
  const path = r.string("Path", RULES.path) ?? "/";
  r.done();
  const account = ctx.principal.account;
  ctx.authorize("iam:CreateUser", { arn: userArn(account.accountId, path, name), label: `user ${name}` });
  return node("User", userXml(ctx.state.createUser(account, name, path)));
};

const getUser: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("UserName", RULES.userName);
  r.done();
  const user = targetUser(ctx, name, "iam:GetUser");
  const account = ctx.principal.account;
  return node("User", user ? userXml(user) : rootUserXml(account.accountId, account.createDate));
};

const listUsers: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const prefix = r.string("PathPrefix", RULES.pathPrefix) ?? "/";
  const marker = r.string("Marker", RULES.marker);
  const maxItems = r.int("MaxItems", { min: 1, max: 1000 });
  r.done();
  const account = ctx.principal.account;
  const all = `arn:aws:iam::${account.accountId}:user/`;
  ctx.authorize("iam:ListUsers", { arn: all, label: all });
  const users = [...account.users.values()]
    .filter((u) => u.path.startsWith(prefix))
    .sort((a, b) => a.userName.localeCompare(b.userName, "en", { sensitivity: "base" }));
  const page = paginate(users, marker, maxItems);
  return (
    members("Users", page.page, userXml) + el("IsTruncated", page.isTruncated) + el("Marker", page.marker)
  );
};

const deleteUser: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("UserName", { ...RULES.userName, required: true });
  r.done();
  const account = ctx.principal.account;
  ctx.authorize("iam:DeleteUser", userRef(ctx.state, account, name));
  ctx.state.deleteUser(account, name);
  return undefined;
};

const createAccessKey: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("UserName", RULES.userName);
  r.done();
  const owner = targetUser(ctx, name, "iam:CreateAccessKey");
  // IAM is eventually consistent: the new key is refused for a while (the propagation-delay knob).
  const key = ctx.state.createAccessKey(ctx.principal.account, owner, {
    usableAfter: ctx.now + ctx.knobs.propagationDelayMs,
  });
  return node("AccessKey", accessKeyXml(key));
};

const listAccessKeys: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("UserName", RULES.userName);
  const marker = r.string("Marker", RULES.marker);
  const maxItems = r.int("MaxItems", { min: 1, max: 1000 });
  r.done();
  const owner = targetUser(ctx, name, "iam:ListAccessKeys");
  // Possibly stale, as IAM is eventually consistent (the staleListMs knob).
  const keys = ctx.state.listedKeys(ctx.principal.account, owner, ctx.now);
  const page = paginate(keys, marker, maxItems);
  return (
    members("AccessKeyMetadata", page.page, accessKeyMetadataXml) +
    el("IsTruncated", page.isTruncated) +
    el("Marker", page.marker)
  );
};

function keyParams(ctx: ActionContext, withStatus: boolean) {
  const r = new ParamReader(ctx.params);
  const name = r.string("UserName", RULES.userName);
  const id = r.string("AccessKeyId", { ...RULES.accessKeyId, required: true });
  const status = withStatus ? r.string("Status", { ...RULES.status, required: true }) : undefined;
  r.done();
  return { name, id, status };
}

const updateAccessKey: ActionHandler = (ctx) => {
  const { name, id, status } = keyParams(ctx, true);
  const owner = targetUser(ctx, name, "iam:UpdateAccessKey");
  const key = ctx.state.ownedKey(ctx.principal.account, owner, id);
  if (status !== "Active" && status !== "Inactive") {
    throw validationError(`Access key status ${status} cannot be set with UpdateAccessKey.`);
  }
  ctx.state.updateAccessKey(key, status);
  return undefined;
};

const deleteAccessKey: ActionHandler = (ctx) => {
  const { name, id } = keyParams(ctx, false);
  const owner = targetUser(ctx, name, "iam:DeleteAccessKey");
  ctx.state.deleteAccessKey(ctx.principal.account, ctx.state.ownedKey(ctx.principal.account, owner, id));
  return undefined;
};

const getAccessKeyLastUsed: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const id = r.string("AccessKeyId", { ...RULES.accessKeyId, required: true });
  r.done();
  const account = ctx.principal.account;
  const key = ctx.state.findKey(id);
  if (!key || key.accountId !== account.accountId) throw keyNotFound(id);
  if (key.userName !== null)
    ctx.authorize("iam:GetAccessKeyLastUsed", userRef(ctx.state, account, key.userName));
  else if (ctx.principal.kind !== "root") throw keyNotFound(id);
  const used = key.lastUsed;
  const lastUsed = used
    ? // To the millisecond (AWS reports to the minute): tests then see exactly when a key was used, and say
      // so to rekey with REKEY_LAST_USE_RESOLUTION_MS=1.
      el("LastUsedDate", new Date(used.date).toISOString()) +
      el("ServiceName", used.service) +
      el("Region", used.region)
    : el("ServiceName", "N/A") + el("Region", "N/A");
  return el("UserName", key.userName ?? undefined) + node("AccessKeyLastUsed", lastUsed);
};

export const userActions: Record<string, ActionHandler> = {
  CreateUser: createUser,
  GetUser: getUser,
  ListUsers: listUsers,
  DeleteUser: deleteUser,
  CreateAccessKey: createAccessKey,
  ListAccessKeys: listAccessKeys,
  UpdateAccessKey: updateAccessKey,
  DeleteAccessKey: deleteAccessKey,
  GetAccessKeyLastUsed: getAccessKeyLastUsed,
};
