/** IAM entities rendered as the XML members of IAM's Query responses (shapes from the IAM model). */

import type { AccessKey, ManagedPolicy, Role, User } from "./model.js";
import { el, encodePolicyDocument, isoDate, node } from "./query-protocol.js";

export function userXml(u: User): string {
  return (
    el("Path", u.path) +
    el("UserName", u.userName) +
    el("UserId", u.userId) +
    el("Arn", u.arn) +
    el("CreateDate", isoDate(u.createDate))
  );
}

/** GetUser as the root: no UserName or Path, the account id as UserId. */
export function rootUserXml(accountId: string, createDate: number): string {
  return (
    el("UserId", accountId) +
    el("Arn", `arn:aws:iam::${accountId}:root`) +
    el("CreateDate", isoDate(createDate))
  );
}

/** CreateAccessKey's AccessKey: the only place the secret is ever returned. */
export function accessKeyXml(k: AccessKey): string {
  return (
    el("UserName", k.userName ?? undefined) +
    el("AccessKeyId", k.accessKeyId) +
    el("Status", k.status) +
    el("SecretAccessKey", k.secretAccessKey) +
    el("CreateDate", isoDate(k.createDate))
  );
}

export function accessKeyMetadataXml(k: AccessKey): string {
  return (
    el("UserName", k.userName ?? undefined) +
    el("AccessKeyId", k.accessKeyId) +
    el("Status", k.status) +
    el("CreateDate", isoDate(k.createDate))
  );
}

export function policyXml(p: ManagedPolicy, attachmentCount: number): string {
  return (
    el("PolicyName", p.policyName) +
    el("DefaultVersionId", "v1") +
    el("PolicyId", p.policyId) +
    el("Path", p.path) +
    el("Arn", p.arn) +
    el("AttachmentCount", attachmentCount) +
    el("PermissionsBoundaryUsageCount", 0) +
    el("IsAttachable", true) +
    el("Description", p.description) +
    el("CreateDate", isoDate(p.createDate)) +
    el("UpdateDate", isoDate(p.updateDate))
  );
}

export function roleXml(r: Role, withLastUsed: boolean): string {
  const lastUsed = withLastUsed
    ? node(
        "RoleLastUsed",
        r.lastUsed ? el("LastUsedDate", isoDate(r.lastUsed.date)) + el("Region", r.lastUsed.region) : "",
      )
    : "";
  return (
    el("Path", r.path) +
    el("RoleName", r.roleName) +
    el("RoleId", r.roleId) +
    el("Arn", r.arn) +
    el("CreateDate", isoDate(r.createDate)) +
    el("AssumeRolePolicyDocument", encodePolicyDocument(r.trustPolicy.text)) +
    el("Description", r.description) +
    el("MaxSessionDuration", r.maxSessionDuration) +
    lastUsed
  );
}
