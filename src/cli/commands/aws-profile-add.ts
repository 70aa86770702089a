/**
 * `rekey aws-profile add PROFILE RECORD`: a profile in the AWS config file whose `credential_process` runs
 * `rekey credential-process` on this vault, so the AWS CLI and every SDK get the record's current key, and
 * the next key after a rotation, without holding it anywhere.
 *
 * The line must work from the application's environment, which is not ours: node and rekey by absolute
 * path, and the vault's location and key file named explicitly (rekey has no flags for them: they go in
 * through `/usr/bin/env`). Only paths: a passphrase or a secret never goes into the file, so a vault that
 * opens only with its passphrase is refused (credential_process cannot prompt).
 */

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { RekeyError, usageError } from "../../errors.js";
import { rekeyHome } from "../../home.js";
import { isRegion } from "../../providers/aws-iam/endpoints.js";
import { managesIamUser } from "../../rotation/same-user.js";
import { FIELD, keyFieldText } from "../../rotation/settings.js";
import { findRecord } from "../../vault/find-record.js";
import { getFieldValue } from "../../vault/record.js";
import {
  credentialProcessCommand,
  sectionHeader,
  upsertProfile,
  writeConfigFile,
} from "../aws-config-file.js";
import { type CommandContext, line, printJson } from "../context.js";
import { regionOption } from "../current-key.js";
import { printable } from "../printable.js";
import type { CommandRun } from "../registry.js";
import { selfInvocation } from "../self-invocation.js";
import { ttlOption } from "./credential-process.js";

const expandHome = (p: string) => resolve(p === "~" || p.startsWith("~/") ? homedir() + p.slice(1) : p);

/** --config-file, else AWS_CONFIG_FILE, else ~/.aws/config (where the SDKs look). */
export function configFilePath(flag: unknown, env: NodeJS.ProcessEnv): string {
  if (typeof flag === "string" && flag) return expandHome(flag);
  if (env.AWS_CONFIG_FILE) return expandHome(env.AWS_CONFIG_FILE);
  return resolve(homedir(), ".aws", "config");
}

/**
 * The variables that open this vault without a prompt, from the environment rekey runs in now (all
 * absolute paths). Refused when no file can unlock it: credential_process has no terminal to ask on.
 */
export async function vaultEnvironment(env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const { resolveVaultLocation } = await import("../../stores/open.js");
  const location = resolveVaultLocation(env);
  const out: Record<string, string> = { REKEY_HOME: rekeyHome(env) };
  if (location.backend === "keeper") {
    const { locateKsmConfig } = await import("../../stores/keeper/ksm-config-path.js");
    const source = locateKsmConfig({ flag: location.configPath, flagName: "REKEY_VAULT=keeper:PATH", env });
    if (source.kind !== "file") {
      throw usageError(
        `the Keeper vault's KSM config comes from ${source.variable}, which an application's credential_process would not have (and which must not be written into the AWS config file)`,
        "give the KSM config as a file: REKEY_VAULT=keeper:/path/to/ksm-config.json",
      );
    }
    out.REKEY_VAULT = `keeper:${source.path}`;
    if (env.REKEY_KEEPER_STATE) out.REKEY_KEEPER_STATE = resolve(env.REKEY_KEEPER_STATE);
    return out;
  }
  if (env.REKEY_VAULT) out.REKEY_VAULT = location.path;
  if (!env.REKEY_KEY_FILE) {
    throw new RekeyError(
      "auth",
      `the vault ${location.path} is opened with its passphrase here, and credential_process cannot ask for one (nor may the passphrase go into the AWS config file)`,
      {
        hint:
          "add a key file that unlocks the vault: rekey vault add-key-file ~/.rekey/apps.key, " +
          "then run this again with REKEY_KEY_FILE=~/.rekey/apps.key",
      },
    );
  }
  out.REKEY_KEY_FILE = resolve(env.REKEY_KEY_FILE);
  if (env.REKEY_EXPECT_HEAD_FILE) out.REKEY_EXPECT_HEAD_FILE = resolve(env.REKEY_EXPECT_HEAD_FILE);
  return out;
}

async function findUserRecord(ctx: CommandContext, ref: string) {
  const store = await ctx.asyncVault();
  const stored = await findRecord(store, ref);
  if (!managesIamUser(stored.record)) {
    throw usageError(
      `record "${stored.record.title}" (${stored.uid}) is a ${stored.record.type} record, not the pamUser record of an IAM user`,
      "name the pamUser record whose key the profile should hand out (rekey record list --type pamUser)",
    );
  }
  return stored;
}

export const run: CommandRun = async (ctx, [profile, ref], opts) => {
  if (process.platform === "win32") {
    throw usageError(
      "rekey aws-profile add writes a POSIX command line (/usr/bin/env ...), which Windows cannot run",
      "on Windows use rekey exec RECORD -- COMMAND",
    );
  }
  const header = sectionHeader(profile!);
  const region = regionOption(opts.region);
  // --ttl is read when the registry declares it (the SDK's cache time written into the profile).
  const ttl = opts.ttl === undefined ? undefined : String(opts.ttl);
  if (ttl !== undefined) ttlOption(ttl);
  const configFile = configFilePath(opts.configFile, ctx.env);
  const vaultEnv = await vaultEnvironment(ctx.env);
  // Opening the vault here proves the key file unlocks it, as credential_process will.
  const stored = await findUserRecord(ctx, ref!);
  const command = credentialProcessCommand({ ...selfInvocation(), vaultEnv, recordUid: stored.uid, ttl });
  const regionValue = region ?? ((getFieldValue(stored.record, FIELD.region) ?? "").trim() || undefined);
  if (regionValue !== undefined && !isRegion(regionValue)) {
    throw usageError(
      `record "${stored.record.title}", field ${FIELD.region}: "${regionValue}" is not an AWS region name`,
      "give the profile's region with --region, or fix the field",
    );
  }
  // printable: a title with a line break would otherwise start a new line (a key) in the file.
  const title = printable(stored.record.title);
  const section = [
    header,
    `# rekey: the current access key of record "${title}" (${stored.uid}); no secret is kept here`,
    `credential_process = ${command}`,
    ...(regionValue ? [`region = ${regionValue}`] : []),
  ];
  const before = existsSync(configFile) ? readFileSync(configFile, "utf8") : "";
  const { text, replaced } = upsertProfile(before, profile!, section, {
    force: opts.force === true,
    configFile,
  });
  writeConfigFile(configFile, text);

  const hasKey = keyFieldText(getFieldValue(stored.record, FIELD.keyId)) !== "";
  if (opts.json) {
    return printJson(ctx.stdout, {
      profile,
      configFile,
      replaced,
      record: { uid: stored.uid, title: stored.record.title },
      credentialProcess: command,
      region: regionValue ?? null,
      hasKey,
    });
  }
  line(
    ctx.stdout,
    `${replaced ? "replaced" : "added"} profile "${profile}" in ${configFile}: ` +
      `credential_process gives the current key of record "${stored.record.title}" (${stored.uid})` +
      (regionValue ? `, region ${regionValue}` : ""),
  );
  line(ctx.stdout, `  credential_process = ${command}`);
  line(ctx.stdout, `try it: aws sts get-caller-identity --profile ${profile}`);
  if (!hasKey) {
    line(
      ctx.stderr,
      `note: record "${stored.record.title}" has no key yet: rotate it before an application uses the profile (rekey rotate ${JSON.stringify(stored.record.title)})`,
    );
  }
};
