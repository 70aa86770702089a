/**
 * `rekey demo`: the main job end to end on this machine. A sandbox IAM (in-process), a fresh vault, an
 * IAM user with one key, a pamUser record made from the seed's template, an admin credential record
 * holding a least-privilege key, and two rotations. Prints key ids and steps; never a secret.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { conflict } from "../errors.js";
import type { RotationResult, Strategy } from "../rotation/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { awsUserTemplateRecord } from "../templates/aws-user.js";
import { convertRecord, newRecord, setFieldValue } from "../vault/record.js";

export interface DemoOptions {
  home?: string | undefined;
  strategy: Strategy;
  /** Progress lines for a person (never secrets). */
  say: (line: string) => void;
}

export interface DemoResult {
  home: string;
  keyFile: string;
  iamUser: string;
  recordUid: string;
  rotations: RotationResult[];
  /** The IAM user's keys at the end, as IAM lists them. */
  finalKeys: Array<{ accessKeyId: string; status: string }>;
  vaultKeyId: string;
  auditEntries: number;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { say } = opts;
  const home = opts.home ? resolve(opts.home) : mkdtempSync(join(tmpdir(), "rekey-demo-"));
  const vaultFile = join(home, "vault.db");
  const keyFile = join(home, "vault.key");
  if (existsSync(vaultFile)) {
    throw conflict(
      `a vault already exists at ${vaultFile}`,
      "give rekey demo an empty --home, or none for a temporary one",
    );
  }
  const [{ startSandbox }, { initVault }, { rotateRecord, policyFor }] = await Promise.all([
    import("../sandbox/index.js"),
    import("../stores/sqlite/sqlite-open.js"),
    import("../rotation/index.js"),
  ]);

  // No ambient AWS credentials or EC2 metadata: everything talks to the sandbox.
  // A short propagation delay, as real IAM has (seconds): the new key is refused at first, and rekey
  // verifies it by polling before it deletes the old one.
  const sandbox = await startSandbox({ env: {}, propagationDelayMs: 1200 });
  const store = await initVault(vaultFile, { keyFile, actor: "rekey demo" });
  try {
    say(
      `1. sandbox IAM/STS at ${sandbox.endpoint} (account ${sandbox.accountId}; new keys work after 1.2 s)`,
    );
    const iamUser = "demo-alice";
    sandbox.admin.createUser(iamUser);
    const first = sandbox.admin.createAccessKey(iamUser);
    say(`2. IAM user ${iamUser} with one access key ${first.accessKeyId}`);

    const admin = "rekey-rotator";
    sandbox.admin.createUser(admin);
    sandbox.admin.putUserPolicy(admin, "rekey-least-privilege", policyFor({ strategy: opts.strategy }));
    const adminKey = sandbox.admin.createAccessKey(admin);
    say(
      `3. admin IAM user ${admin} with only the policy of \`rekey policy --strategy ${opts.strategy}\`, key ${adminKey.accessKeyId}`,
    );

    const cred = newRecord("login", "AWS rotation admin");
    setFieldValue(cred, "login", admin);
    setFieldValue(cred, "aws_access_key_id", adminKey.accessKeyId, { type: "text" });
    setFieldValue(cred, "aws_secret_access_key", adminKey.secretAccessKey, { type: "secret" });
    store.createRecord(cred, { actor: "rekey demo" });

    const user = convertRecord(
      awsUserTemplateRecord({ login: iamUser, title: `${iamUser} (AWS)` }),
      "pamUser",
    );
    setFieldValue(user, "aws_access_key_id", first.accessKeyId);
    setFieldValue(user, "aws_secret_access_key", first.secretAccessKey);
    setFieldValue(user, "rotation_credentials", "AWS rotation admin");
    setFieldValue(user, "rotation_strategy", opts.strategy);
    const stored = store.createRecord(user, { actor: "rekey demo" });
    say(`4. vault ${vaultFile}: pamUser "${stored.record.title}" (${stored.uid}) from the seed's template`);

    const rotations: RotationResult[] = [];
    for (const n of [1, 2]) {
      const r = await rotateRecord(toAsyncStore(store), stored.uid, {
        endpointUrl: sandbox.endpoint,
        env: { AWS_EC2_METADATA_DISABLED: "true" },
        verify: true,
        verifyIntervalMs: 200,
        // The sandbox reports a key's last use to the millisecond (IAM: to the minute), so rotation 2 can
        // tell that the key rotation 1 verified has not been used since rotation 2 created its key.
        lastUseResolutionMs: 1,
        actor: "rekey demo",
      });
      rotations.push(r);
      const gone = [
        ...r.deleted.map((k) => `deleted ${k}`),
        ...r.deactivated.map((k) => `deactivated ${k}`),
        ...(r.retained ? [`kept ${r.retained.keyIds.join(", ")} (${r.retained.why})`] : []),
      ];
      say(
        `${4 + n}. rotation ${n} (${r.strategy}, credentials: ${r.credentialSource.description}): new key ${r.created?.accessKeyId}` +
          `${r.verified ? `, verified as ${r.verified.arn} (attempt ${r.verified.attempts})` : ""}${gone.length ? `, ${gone.join(", ")}` : ""}`,
      );
    }
    const finalKeys = sandbox.admin
      .listKeys(iamUser)
      .map((k) => ({ accessKeyId: k.accessKeyId, status: k.status }));
    const { getFieldValue } = await import("../vault/record.js");
    const vaultKeyId = getFieldValue(store.getRecord(stored.uid)!.record, "aws_access_key_id") ?? "";
    const audit = store.verifyAudit();
    say(
      `7. IAM now lists: ${finalKeys.map((k) => `${k.accessKeyId} (${k.status})`).join(", ")}; the vault holds ${vaultKeyId}`,
    );
    say(
      `8. record history: ${store.history(stored.uid).length} versions kept; audit log: ${audit.entries} entries, chain ${audit.ok ? "intact" : "BROKEN"}`,
    );
    return {
      home,
      keyFile,
      iamUser,
      recordUid: stored.uid,
      rotations,
      finalKeys,
      vaultKeyId,
      auditEntries: audit.entries,
    };
  } finally {
    store.close();
    await sandbox.close();
  }
}
