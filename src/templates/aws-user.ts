/**
 * The seed's PAM User template (Keeper's "IAM User Access Key" guide): a record to import, amend and
 * duplicate. It imports as a `login` record, which `rekey record convert --type pamUser` turns into a
 * PAM User, exactly as the guide tells Keeper users to do.
 */
import { recordToCells, toCommanderCsv } from "../csv/commander-csv.js";
import { type KeeperRecord, newRecord, setFieldValue } from "../vault/record.js";

export interface AwsUserTemplateOptions {
  login?: string;
  title?: string;
}

/**
 * Every field has a non-empty value: Keeper Commander's CSV import drops a custom field whose value is empty,
 * so the four key fields hold `-`, which rekey reads as "no key yet" (settings.ts NO_KEY_PLACEHOLDERS); the
 * first rotation overwrites them.
 */
export const AWS_USER_TEMPLATE_FIELDS = [
  { label: "aws_access_key_id", type: "text", value: "-" },
  { label: "aws_secret_access_key", type: "secret", value: "-" },
  { label: "CreateDate", type: "text", value: "-" },
  { label: "Access_Key_ID_Removed_during_previous_rotation", type: "text", value: "-" },
  { label: "delete_all_keys_before_rotating", type: "text", value: "False" },
  { label: "NOOP", type: "text", value: "True" },
  { label: "Private Key Type", type: "text", value: "rsa-ssh" },
] as const;

export function awsUserTemplateRecord(opts: AwsUserTemplateOptions = {}): KeeperRecord {
  const r = newRecord("login", opts.title ?? "AWS IAM user access key (template)");
  setFieldValue(r, "login", opts.login ?? "iam-user-name");
  // A dummy: Keeper rotates the password field, the script rotates the access key.
  setFieldValue(r, "password", "dummy-password-rotated-by-keeper");
  r.notes =
    "PAM User template for IAM access key rotation: set login to the IAM user name, then convert to pamUser.";
  for (const f of AWS_USER_TEMPLATE_FIELDS)
    r.custom.push({ type: f.type, label: f.label, value: f.value ? [f.value] : [] });
  return r;
}

export function awsUserTemplateCsv(opts: AwsUserTemplateOptions = {}): string {
  return toCommanderCsv([recordToCells(awsUserTemplateRecord(opts))]);
}
