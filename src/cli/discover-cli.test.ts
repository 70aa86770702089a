/**
 * `rekey discover` as a user runs it: the real bundled CLI in child processes, a real vault, the real AWS
 * SDK against the sandbox served by this test process. Each test keeps to its own IAM path (/d1/, /d2/...),
 * so the users of one test never show in another's listing.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, freshHome, rekey, rekeyAsync } from "../testing/cli.js";
import { allow, stsClient } from "../testing/sandbox-clients.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

const endpoint = () => ["--endpoint-url", sandbox.endpoint];

/** A vault with the credential record "admin" (the sandbox's root key). */
async function vault() {
  const { env } = freshHome();
  const full = { ...env, AWS_EC2_METADATA_DISABLED: "true" };
  await addKeyRecords(full, "admin", sandbox.root);
  return full;
}

/** A signed request with the key: IAM records its last use. */
async function use(key: { accessKeyId: string; secretAccessKey: string }) {
  const sts = stsClient(sandbox, key);
  try {
    await sts.send(new GetCallerIdentityCommand({}));
  } finally {
    sts.destroy();
  }
}

/** A pamUser record for `login` (no key yet); returns its UID. */
function addManaged(env: NodeJS.ProcessEnv, title: string, login: string): string {
  const r = rekey(["record", "add", "--title", title, "--set", `login=${login}`, "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { uid: string }).uid;
}

interface JsonUser {
  userName: string;
  userId: string;
  path: string;
  managed: boolean;
  managedBy: Array<{ uid: string; title: string }>;
  keys:
    | "denied"
    | Array<{
        accessKeyId: string;
        status: string;
        ageDays: number;
        lastUsed: null | "denied" | { date: string; service: string; region: string };
      }>;
}

test("discover lists users, keys, last use and the managing record; --path-prefix filters; --json shape", async () => {
  const env = await vault();
  sandbox.admin.createUser("d1-app", { path: "/d1/apps/" });
  const used = sandbox.admin.createAccessKey("d1-app", {
    createDate: new Date(Date.now() - 40 * 86_400_000),
  });
  const never = sandbox.admin.createAccessKey("d1-app");
  await use(used);
  sandbox.admin.createUser("d1-ops", { path: "/d1/ops/" });
  sandbox.admin.createUser("D1-Legacy", { path: "/d1/apps/" });
  sandbox.admin.createAccessKey("D1-Legacy");
  const legacyUid = addManaged(env, "legacy record", "d1-legacy");

  const r = await rekeyAsync(
    ["discover", "--credentials", "admin", "--path-prefix", "/d1/", "--json", ...endpoint()],
    {
      env,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const users = JSON.parse(r.stdout) as JsonUser[];
  assert.deepEqual(users.map((u) => u.userName).sort(), ["D1-Legacy", "d1-app", "d1-ops"]);
  const by = new Map(users.map((u) => [u.userName, u]));
  const app = by.get("d1-app")!;
  assert.equal(app.path, "/d1/apps/");
  assert.match(app.userId, /^AIDA/);
  assert.equal(app.managed, false);
  assert.deepEqual(app.managedBy, []);
  assert.ok(app.keys !== "denied" && app.keys.length === 2);
  const keys = new Map(app.keys.map((k) => [k.accessKeyId, k]));
  const u = keys.get(used.accessKeyId)!;
  assert.ok(u.lastUsed && u.lastUsed !== "denied");
  assert.equal(u.lastUsed.service, "sts");
  assert.equal(u.ageDays, 40);
  assert.equal(u.status, "Active");
  assert.equal(keys.get(never.accessKeyId)?.lastUsed, null);
  assert.deepEqual(by.get("d1-ops")?.keys, []);
  const legacy = by.get("D1-Legacy")!;
  assert.equal(legacy.managed, true, "same login in another case: managed");
  assert.deepEqual(legacy.managedBy, [{ uid: legacyUid, title: "legacy record" }]);
  for (const s of [sandbox.root.secretAccessKey, used.secretAccessKey, never.secretAccessKey])
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), "no secret in the output");

  const apps = await rekeyAsync(
    ["discover", "--credentials", "admin", "--path-prefix", "/d1/apps/", "--json", ...endpoint()],
    {
      env,
    },
  );
  assert.equal(apps.code, 0, apps.stderr);
  assert.deepEqual((JSON.parse(apps.stdout) as JsonUser[]).map((x) => x.userName).sort(), [
    "D1-Legacy",
    "d1-app",
  ]);

  const table = await rekeyAsync(
    ["discover", "--credentials", "admin", "--path-prefix", "/d1/", ...endpoint()],
    { env },
  );
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /USER +PATH +ACCESS KEY +STATUS +AGE +LAST USED +MANAGED BY/);
  assert.match(table.stdout, new RegExp(`${never.accessKeyId} +Active +<1d +never`));
  assert.match(
    table.stdout,
    new RegExp(`${used.accessKeyId} +Active +40d +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ sts`),
  );
  assert.match(table.stdout, new RegExp(`"legacy record" \\(${legacyUid}\\)`));
  assert.match(
    table.stdout,
    /3 IAM user\(s\) in account \d{12} .*1 managed by a record, 2 not; `rekey discover --import`/,
  );
});

test("discover --import adopts the unmanaged users (fields, folder, schedule, title clash); a second run creates nothing", async () => {
  const env = await vault();
  sandbox.admin.createUser("d2-web", { path: "/d2/" });
  sandbox.admin.createAccessKey("d2-web");
  sandbox.admin.createUser("d2-batch", { path: "/d2/" });
  sandbox.admin.createUser("d2-old", { path: "/d2/" });
  const oldUid = addManaged(env, "old one", "D2-OLD");
  // A record already has the title an import would pick: the account id is appended.
  assert.equal(rekey(["record", "add", "--type", "login", "--title", "d2-web (AWS)"], { env }).code, 0);
  assert.equal(rekey(["folder", "add", "onboarded"], { env }).code, 0);

  const missing = await rekeyAsync(
    [
      "discover",
      "--import",
      "--folder",
      "nope",
      "--credentials",
      "admin",
      "--path-prefix",
      "/d2/",
      ...endpoint(),
    ],
    { env },
  );
  assert.equal(missing.code, 3, missing.stderr);
  assert.match(missing.stderr, /no folder with UID or name "nope"/);

  const args = [
    "discover",
    "--import",
    "--folder",
    "onboarded",
    "--schedule",
    "every 30d",
    "--region",
    "eu-west-1",
    "--credentials",
    "admin",
    "--path-prefix",
    "/d2/",
    ...endpoint(),
  ];
  const r = await rekeyAsync(args, { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`skipped d2-old: already managed by "old one" \\(${oldUid}\\)`));
  assert.match(r.stdout, /2 record\(s\) created, 1 user\(s\) skipped/);
  assert.match(r.stdout, /rekey rotate --all --dry-run/);
  const webTitle = `d2-web (AWS) [${sandbox.accountId}]`;
  assert.ok(r.stdout.includes(`created pamUser "${webTitle}"`), r.stdout);
  assert.ok(r.stdout.includes(`created pamUser "d2-batch (AWS)"`), r.stdout);

  const folders = JSON.parse(rekey(["folder", "list", "--json"], { env }).stdout) as Array<{
    uid: string;
    name: string;
  }>;
  const folderUid = folders.find((f) => f.name === "onboarded")!.uid;
  for (const [title, login] of [
    [webTitle, "d2-web"],
    ["d2-batch (AWS)", "d2-batch"],
  ] as const) {
    const show = rekey(["record", "show", title, "--json"], { env });
    assert.equal(show.code, 0, show.stderr);
    const rec = JSON.parse(show.stdout) as {
      type: string;
      folderUid: string;
      fields: Array<{ type: string; label?: string; value: unknown[] }>;
      custom: Array<{ type: string; label?: string; value: unknown[] }>;
    };
    const all = [...rec.fields, ...rec.custom];
    const value = (name: string) => all.find((f) => f.label === name || (!f.label && f.type === name))?.value;
    assert.equal(rec.type, "pamUser");
    assert.equal(rec.folderUid, folderUid);
    assert.deepEqual(value("login"), [login]);
    assert.deepEqual(value("adopt_existing_keys"), ["True"]);
    assert.deepEqual(value("aws_region"), ["eu-west-1"]);
    assert.deepEqual(value("rotation_credentials"), ["admin"]);
    assert.equal(value("rotationSchedule")?.length, 1, "the schedule is set");
    assert.deepEqual(value("password"), []);
    assert.equal(value("aws_secret_access_key"), undefined, "no secret field");
    assert.equal(value("aws_access_key_id"), undefined, "no key field");
  }
  const status = rekey(["status"], { env });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /d2-batch \(AWS\) +d2-batch +every 30d/, "the gateway reads the schedule");

  const again = await rekeyAsync([...args, "--json"], { env });
  assert.equal(again.code, 0, again.stderr);
  const out = JSON.parse(again.stdout) as {
    created: unknown[];
    skipped: Array<{ userName: string }>;
    users: JsonUser[];
  };
  assert.deepEqual(out.created, []);
  assert.deepEqual(out.skipped.map((s) => s.userName).sort(), ["d2-batch", "d2-old", "d2-web"]);
  assert.ok(out.users.every((u) => u.managed));
  const records = JSON.parse(rekey(["record", "list", "--json"], { env }).stdout) as unknown[];
  assert.equal(records.length, 5, "admin, old one, the title clash, 2 imported: nothing more");

  const audit = JSON.parse(rekey(["audit", "list", "--json"], { env }).stdout) as Array<{
    action: string;
    details: { count?: number };
  }>;
  assert.deepEqual(
    audit.filter((e) => e.action === "discover.import").map((e) => e.details.count),
    [2, 0],
  );
  assert.equal(audit.filter((e) => e.action === "record.create").length, 5);
});

test("discover: --folder / --schedule without --import is a usage error; a bad path prefix too", async () => {
  const { env } = freshHome();
  const folder = await rekeyAsync(["discover", "--folder", "x"], { env });
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /--folder applies to the records --import creates/);
  const schedule = await rekeyAsync(["discover", "--schedule", "every 1d"], { env });
  assert.equal(schedule.code, 2);
  const prefix = await rekeyAsync(["discover", "--path-prefix", "apps"], { env });
  assert.equal(prefix.code, 2);
  assert.match(prefix.stderr, /starts with a slash/);
});

test("discover with an admin that may not call iam:ListUsers: exit 5, the permission named", async () => {
  const env = await vault();
  sandbox.admin.createUser("d3-weak");
  sandbox.admin.putUserPolicy("d3-weak", "p", allow(["iam:ListAccessKeys", "iam:CreateAccessKey"]));
  const weak = sandbox.admin.createAccessKey("d3-weak");
  await addKeyRecords(env, "weak", weak);
  const r = await rekeyAsync(["discover", "--credentials", "weak", ...endpoint()], { env });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /AWS denied iam:ListUsers/);
  assert.match(r.stderr, /record "weak"/);
  assert.match(r.stderr, /fix: .*iam:ListUsers/);
  assert.ok(!r.stderr.includes(weak.secretAccessKey));
});

test("discover without --credentials uses rotation's order: the PAM configuration, else the default chain", async () => {
  const { env } = freshHome();
  sandbox.admin.createUser("d4-only", { path: "/d4/" });
  const r = await rekeyAsync(["discover", "--path-prefix", "/d4/", "--json", ...endpoint()], {
    env: {
      ...env,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ACCESS_KEY_ID: sandbox.root.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sandbox.root.secretAccessKey,
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    (JSON.parse(r.stdout) as JsonUser[]).map((u) => u.userName),
    ["d4-only"],
  );
  const none = await rekeyAsync(["discover", ...endpoint()], {
    env: { ...env, AWS_EC2_METADATA_DISABLED: "true" },
  });
  assert.equal(none.code, 5, none.stderr);
  assert.match(none.stderr, /PAM configuration: none/);
  assert.match(none.stderr, /default credential chain/);

  // The vault's only PAM configuration comes before the default chain; its awsId scopes its users.
  const cfg = await rekeyAsync(
    [
      "record",
      "add",
      "--type",
      "pamAwsConfiguration",
      "--title",
      "aws cfg",
      "--set",
      `awsId=${sandbox.accountId}`,
      "--secret",
      "accessKeyId",
      "--secret",
      "accessSecretKey",
    ],
    { env, input: `${sandbox.root.accessKeyId}\n${sandbox.root.secretAccessKey}\n` },
  );
  assert.equal(cfg.code, 0, cfg.stderr);
  const managedUid = addManaged(env, "d4 record", "d4-only");
  const viaCfg = await rekeyAsync(["discover", "--path-prefix", "/d4/", ...endpoint()], {
    env: { ...env, AWS_EC2_METADATA_DISABLED: "true" },
  });
  assert.equal(viaCfg.code, 0, viaCfg.stderr);
  assert.match(viaCfg.stdout, /credentials: PAM configuration "aws cfg"/);
  assert.match(viaCfg.stdout, new RegExp(`d4-only .*"d4 record" \\(${managedUid}\\)`));
});
