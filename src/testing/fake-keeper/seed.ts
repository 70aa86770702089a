/**
 * Seed the fake Keeper with the seed document's setup (keeper-protocol.md §1-2): a shared folder holding a
 * PAM AWS configuration, a PAM User record with the seed's custom fields and the rotation script attached,
 * and optionally an extra record with admin credentials in one of the seed's three shapes. Also builds the
 * line the Gateway would pipe to the script for that setup.
 *
 * @example
 * const s = seedAwsRotation(fake, { userName: "alice", currentKey: { id: "AKIA...", secret: "..." } });
 * child.stdin.end(`${gatewayLineFor(fake, s)}\n`);
 */

import { encodeGatewayParams } from "../../pam-protocol/gateway-params.js";
import type { Secret } from "../../secret.js";
import { type KeeperRecord, newRecord, setFieldValue } from "../../vault/record.js";
import type { FakeFolder, FakeKeeper, RecordData } from "./state.js";

export type AdminShape =
  /** `aws_access_key_id` / `aws_secret_access_key` (+ `role_arn` when given): the seed's first two shapes. */
  | { kind: "aws"; accessKeyId: string; secretAccessKey: string; roleArn?: string }
  /** `accessKeyId` / `accessSecretKey`: the seed's third shape. */
  | { kind: "pam"; accessKeyId: string; secretAccessKey: string };

export interface SeedAwsRotationOptions {
  userName: string;
  /** The key the PAM User record holds now, if any. */
  currentKey?: { id: string; secret: string; createDate?: string };
  /** Admin key on the PAM configuration record (empty: the Gateway's machine role is used). */
  configAdmin?: { accessKeyId: string; secretAccessKey: string };
  /** An extra record attached to the script ("rotation credentials"). */
  attachedAdmin?: AdminShape;
  /** The seed's mode field; absent when undefined. */
  deleteAllKeysBeforeRotating?: boolean;
  /** Extra custom text fields on the user record (e.g. rekey's own settings). */
  userFields?: Record<string, string>;
  awsAccountId?: string;
  folderName?: string;
}

export interface SeededAwsRotation {
  folder: FakeFolder;
  configUid: string;
  userUid: string;
  adminUid: string | undefined;
}

const asData = (r: KeeperRecord): RecordData => structuredClone(r) as unknown as RecordData;

export function pamAwsConfiguration(
  title: string,
  opts: { awsAccountId?: string; admin?: { accessKeyId: string; secretAccessKey: string } } = {},
): KeeperRecord {
  const r = newRecord("pamAwsConfiguration", title);
  setFieldValue(r, "awsId", opts.awsAccountId ?? "123456789012");
  if (opts.admin) {
    setFieldValue(r, "accessKeyId", opts.admin.accessKeyId);
    setFieldValue(r, "accessSecretKey", opts.admin.secretAccessKey);
  }
  setFieldValue(r, "regionNames", "us-east-1");
  return r;
}

export function pamUserForSeed(
  title: string,
  opts: SeedAwsRotationOptions,
  scriptRecordRefs: string[] = [],
): KeeperRecord {
  const r = newRecord("pamUser", title);
  setFieldValue(r, "login", opts.userName);
  setFieldValue(r, "password", "generated-by-the-gateway");
  setFieldValue(r, "rotationScripts", [
    { fileRef: "RekeyScriptFileRef0000", recordRef: scriptRecordRefs, command: "node" },
  ]);
  setFieldValue(r, "aws_access_key_id", opts.currentKey?.id ?? "");
  setFieldValue(r, "aws_secret_access_key", opts.currentKey?.secret ?? "", { type: "secret" });
  setFieldValue(r, "CreateDate", opts.currentKey?.createDate ?? "");
  setFieldValue(r, "Access_Key_ID_Removed_during_previous_rotation", "");
  if (opts.deleteAllKeysBeforeRotating !== undefined) {
    setFieldValue(r, "delete_all_keys_before_rotating", opts.deleteAllKeysBeforeRotating ? "True" : "False");
  }
  setFieldValue(r, "NOOP", "True");
  setFieldValue(r, "Private Key Type", "rsa-ssh");
  for (const [k, v] of Object.entries(opts.userFields ?? {})) setFieldValue(r, k, v);
  return r;
}

export function adminRecord(title: string, shape: AdminShape): KeeperRecord {
  const r = newRecord("login", title);
  if (shape.kind === "pam") {
    setFieldValue(r, "accessKeyId", shape.accessKeyId, { type: "secret" });
    setFieldValue(r, "accessSecretKey", shape.secretAccessKey, { type: "secret" });
  } else {
    if (shape.roleArn) setFieldValue(r, "role_arn", shape.roleArn);
    setFieldValue(r, "aws_access_key_id", shape.accessKeyId);
    setFieldValue(r, "aws_secret_access_key", shape.secretAccessKey, { type: "secret" });
  }
  return r;
}

export function seedAwsRotation(fake: FakeKeeper, opts: SeedAwsRotationOptions): SeededAwsRotation {
  const folder = fake.addSharedFolder(opts.folderName ?? "PAM AWS");
  const config = fake.addRecord(
    asData(
      pamAwsConfiguration("AWS PAM configuration", {
        ...opts,
        ...(opts.configAdmin ? { admin: opts.configAdmin } : {}),
      }),
    ),
    { folderUid: folder.uid },
  );
  const admin = opts.attachedAdmin
    ? fake.addRecord(asData(adminRecord("AWS admin credentials", opts.attachedAdmin)), {
        folderUid: folder.uid,
      })
    : undefined;
  const user = fake.addRecord(
    asData(pamUserForSeed(`${opts.userName} (AWS IAM user)`, opts, admin ? [admin.uid] : [])),
    {
      folderUid: folder.uid,
    },
  );
  return { folder, configUid: config.uid, userUid: user.uid, adminUid: admin?.uid };
}

/**
 * The line the Gateway pipes to the script for a seeded setup, from the records' current content:
 * configuration, attached admin record, then the user record (keeper-protocol.md §1 order).
 */
export function gatewayLineFor(
  fake: FakeKeeper,
  seeded: SeededAwsRotation,
  opts: { newPassword?: Secret | string; oldPassword?: Secret | string; user?: string } = {},
): string {
  const rec = (uid: string) => ({ uid, record: fake.recordData(uid) as unknown as KeeperRecord });
  const userRecord = fake.recordData(seeded.userUid) as unknown as KeeperRecord;
  const login = userRecord.fields.find((f) => f.type === "login")?.value[0];
  return encodeGatewayParams({
    providerRecordUid: seeded.configUid,
    resourceRecordUid: "",
    userRecordUid: seeded.userUid,
    user: opts.user ?? (typeof login === "string" ? login : ""),
    newPassword: opts.newPassword ?? "N3w-Gateway-Password!",
    oldPassword: opts.oldPassword ?? "0ld-Gateway-Password!",
    records: [rec(seeded.configUid), ...(seeded.adminUid ? [rec(seeded.adminUid)] : []), rec(seeded.userUid)],
  });
}
