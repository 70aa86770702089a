/**
 * rekey's own commands on a Keeper vault (REKEY_VAULT=keeper:KSM_CONFIG), and `rekey keeper-script`: the real
 * bundled CLI in a child process, the fake Keeper over HTTPS, the sandbox for AWS.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { rekeyAsync } from "../../testing/cli.js";
import {
  FakeKeeper,
  gatewayLineFor,
  type ServedFakeKeeper,
  serveFakeKeeperHttps,
} from "../../testing/fake-keeper/index.js";
import { rotateWithAdmin, seedSandboxRotation, writeKsmConfig } from "../../testing/keeper-script.js";
import { getFieldValue, type KeeperRecord } from "../../vault/record.js";
import { keeperStateId } from "./local-state.js";

let sandbox: Sandbox;
let fake: FakeKeeper;
let served: ServedFakeKeeper;
let home: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  sandbox = await startSandbox();
  fake = new FakeKeeper();
  served = await serveFakeKeeperHttps(fake);
  home = mkdtempSync(join(tmpdir(), "rekey-keeper-cli-"));
  const config = writeKsmConfig(fake, home);
  env = {
    REKEY_HOME: join(home, "rekey"),
    REKEY_VAULT: `keeper:${config}`,
    NODE_EXTRA_CA_CERTS: served.caFile,
    AWS_EC2_METADATA_DISABLED: "true",
  };
});
after(async () => {
  await served.close();
  await sandbox.close();
  rmSync(home, { recursive: true, force: true });
});

function seeded() {
  const { userName, old, seeded: s } = seedSandboxRotation(fake, sandbox, "kv", { rootAdmin: true });
  return { userName, old, s };
}

const keyOf = (uid: string) =>
  getFieldValue(fake.recordData(uid) as unknown as KeeperRecord, "aws_access_key_id");

test("rekey rotate and rekey repair on a Keeper vault: by title, credentials named by a field, saved with a revision check", async () => {
  const { userName, old, s } = seeded();
  // rekey's own setting on the record: the admin record by UID (a title works too, at the cost of a listing).
  fake.editRecord(s.userUid, (d) => {
    (d.custom as unknown[]).push({ type: "text", label: "rotation_credentials", value: [s.adminUid] });
  });
  const title = `${userName} (AWS IAM user)`;
  const dry = await rekeyAsync(["rotate", title, "--dry-run", "--endpoint-url", sandbox.endpoint, "--json"], {
    env,
  });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout).deleted, [old.accessKeyId]);
  assert.equal(keyOf(s.userUid), old.accessKeyId, "a dry run changes nothing");

  // The seeded record carries the seed's rotationScripts entry, whose file is not attached here.
  const r = await rekeyAsync(
    ["rotate", title, "--no-scripts", "--endpoint-url", sandbox.endpoint, "--json"],
    {
      env,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.recordUid, s.userUid);
  assert.equal(out.credentialSource.recordUid, s.adminUid);
  assert.deepEqual(out.deleted, [old.accessKeyId]);
  assert.equal(out.revision, fake.records.get(s.userUid)?.revision);
  assert.equal(keyOf(s.userUid), out.created.accessKeyId);
  assert.equal(fake.pending.size, 0);
  assert.ok(!r.stdout.includes(sandbox.root.secretAccessKey) && !r.stderr.includes(old.secretAccessKey));

  const repair = await rekeyAsync(["repair", "--endpoint-url", sandbox.endpoint], { env });
  assert.equal(repair.code, 0, repair.stderr);
  assert.match(repair.stdout, /nothing to repair/);
});

test("rekey gateway --once, history and status on a Keeper vault: a scheduled record rotates once, history kept locally", async () => {
  const { userName, old, s } = seeded();
  const title = `${userName} (AWS IAM user)`;
  // Rotate (not the seed's scripts-only mode), every 12 hours, with the attached admin record.
  rotateWithAdmin(fake, s, "every 12h");
  const args = ["gateway", "--once", "--endpoint-url", sandbox.endpoint, "--jitter", "0", "--json"];
  const g = await rekeyAsync(args, { env });
  assert.equal(g.code, 0, g.stderr);
  const attempts = JSON.parse(g.stdout) as Array<Record<string, unknown>>;
  const mine = attempts.filter((a) => a.recordUid === s.userUid);
  assert.equal(mine.length, 1, g.stdout);
  assert.equal(mine[0]?.outcome, "succeeded", g.stdout);
  const newKey = keyOf(s.userUid);
  assert.notEqual(newKey, old.accessKeyId);
  assert.equal((mine[0]?.keyIds as { created?: string } | undefined)?.created, newKey);

  const again = await rekeyAsync(args, { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (JSON.parse(again.stdout) as Array<{ recordUid: string }>).filter((a) => a.recordUid === s.userUid),
    [],
    "not due again",
  );
  assert.equal(keyOf(s.userUid), newKey);

  const h = await rekeyAsync(["history", title, "--json"], { env });
  assert.equal(h.code, 0, h.stderr);
  const history = JSON.parse(h.stdout) as Array<{ outcome: string; keyIds: { created: string } }>;
  assert.deepEqual(
    history.map((e) => [e.outcome, e.keyIds.created]),
    [["succeeded", newKey]],
  );
  const ksm = JSON.parse(readFileSync(env.REKEY_VAULT!.slice("keeper:".length), "utf8")) as {
    clientId: string;
  };
  const stateDir = join(env.REKEY_HOME!, "keeper", keeperStateId(ksm));
  assert.ok(readdirSync(join(stateDir, "history")).length >= 1, "history kept in the local state directory");

  const st = await rekeyAsync(["status", "--json"], { env });
  assert.equal(st.code, 0, st.stderr);
  const row = (JSON.parse(st.stdout) as Array<Record<string, unknown>>).find((r) => r.uid === s.userUid);
  assert.equal(row?.keyId, newKey);
  assert.equal(row?.scheduleSource, "record");
  assert.equal((row?.lastOutcome as { outcome: string } | null)?.outcome, "succeeded");
  for (const out of [g, h, st]) {
    assert.ok(
      !out.stdout.includes(old.secretAccessKey) && !out.stdout.includes(sandbox.root.secretAccessKey),
    );
  }
});

test("record and folder commands work on a Keeper vault: folder add/list, record add/list/show/get/edit/schedule/rm, scripts, export", async () => {
  const shared = fake.addSharedFolder(`kv-shared-${Date.now()}`);
  const sub = await rekeyAsync(["folder", "add", "kv-sub", "--parent", shared.uid], { env });
  assert.equal(sub.code, 0, sub.stderr);
  const subUid = /created folder "kv-sub" (\S+)/.exec(sub.stdout)?.[1];
  assert.ok(subUid && fake.folders.get(subUid)?.parentUid === shared.uid, sub.stdout);
  const folders = await rekeyAsync(["folder", "list", "--json"], { env });
  assert.equal(folders.code, 0, folders.stderr);
  assert.ok((JSON.parse(folders.stdout) as Array<{ uid: string }>).some((f) => f.uid === subUid));

  const title = `kv-login-${Date.now()}`;
  const add = await rekeyAsync(
    [
      "record",
      "add",
      "--type",
      "login",
      "--title",
      title,
      "--folder",
      "kv-sub",
      "--set",
      "login=bob",
      "--json",
    ],
    { env },
  );
  assert.equal(add.code, 0, add.stderr);
  const { uid } = JSON.parse(add.stdout) as { uid: string };
  assert.equal(fake.records.get(uid)?.innerFolderUid, subUid, "created in the sub-folder, in Keeper");
  const list = await rekeyAsync(["record", "list", "--json"], { env });
  assert.equal(list.code, 0, list.stderr);
  const row = (JSON.parse(list.stdout) as Array<Record<string, unknown>>).find((r) => r.uid === uid);
  assert.equal(row?.title, title);
  const get = await rekeyAsync(["record", "get", title, "login"], { env });
  assert.deepEqual([get.code, get.stdout], [0, "bob\n"], get.stderr);
  const edit = await rekeyAsync(["record", "edit", title, "--set", "login=carol"], { env });
  assert.equal(edit.code, 0, edit.stderr);
  assert.equal(getFieldValue(fake.recordData(uid) as unknown as KeeperRecord, "login"), "carol");
  const show = await rekeyAsync(["record", "show", uid, "--json"], { env });
  assert.equal(show.code, 0, show.stderr);
  assert.equal((JSON.parse(show.stdout) as { title: string }).title, title);

  const schedule = await rekeyAsync(["record", "schedule", title, "every 1d"], { env });
  assert.equal(schedule.code, 0, schedule.stderr);
  assert.ok(
    (fake.recordData(uid).custom as Array<{ label?: string }>).some((f) => f.label === "rotationSchedule"),
    "the schedule field is saved in Keeper, where the gateway reads it",
  );

  const script = join(home, "kv-hook.mjs");
  writeFileSync(script, "console.log('rotated')\n");
  const sAdd = await rekeyAsync(["record", "script", "add", title, script, "--command", "node", "--json"], {
    env,
  });
  assert.equal(sAdd.code, 0, sAdd.stderr);
  const { fileRef } = JSON.parse(sAdd.stdout) as { fileRef: string };
  assert.equal(fake.records.get(fileRef)?.innerFolderUid, subUid, "the script's file record sits beside it");
  const sList = await rekeyAsync(["record", "script", "list", title, "--json"], { env });
  assert.equal(sList.code, 0, sList.stderr);
  assert.equal((JSON.parse(sList.stdout) as Array<{ fileName: string }>)[0]?.fileName, "kv-hook.mjs");
  const sRm = await rekeyAsync(["record", "script", "rm", title, "1", "--json"], { env });
  assert.equal(sRm.code, 0, sRm.stderr);
  assert.equal((JSON.parse(sRm.stdout) as { fileDeleted: boolean }).fileDeleted, true);
  assert.equal(fake.records.has(fileRef), false, "the unused file record is deleted in Keeper");

  const out = join(home, `kv-export-${Date.now()}.csv`);
  const exp = await rekeyAsync(["export", "csv", "--out", out], { env });
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(readFileSync(out, "utf8"), new RegExp(title));

  const rm = await rekeyAsync(["record", "rm", title], { env });
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(fake.records.has(uid), false);
  const audit = await rekeyAsync(["audit", "list", "--json"], { env });
  assert.equal(audit.code, 0, audit.stderr);
  const actions = (JSON.parse(audit.stdout) as Array<{ action: string; recordUid: string | null }>)
    .filter((e) => e.recordUid === uid)
    .map((e) => e.action);
  assert.deepEqual(actions.slice(0, 2), ["record.create", "record.get"]);
  assert.ok(actions.includes("record.delete"), actions.join(", "));
  const verify = await rekeyAsync(["audit", "verify"], { env });
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /audit log OK/);
  assert.match(verify.stdout, /has no signed head: only its audit log was checked/);
});

test("discover --import on a Keeper vault: one record per unmanaged user, created in Keeper in the folder given", async () => {
  const { s } = seeded(); // an admin record with the sandbox's root key
  const prefix = `/kv${Date.now()}/`;
  const names = [`kv-a-${Date.now()}`, `kv-b-${Date.now()}`];
  for (const n of names) sandbox.admin.createUser(n, { path: prefix });
  const shared = fake.addSharedFolder(`kv-adopted-${Date.now()}`);
  const args = [
    "discover",
    "--credentials",
    s.adminUid!,
    "--path-prefix",
    prefix,
    "--endpoint-url",
    sandbox.endpoint,
  ];
  const r = await rekeyAsync([...args, "--import", "--folder", shared.uid, "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  const created = (JSON.parse(r.stdout) as { created: Array<{ uid: string; userName: string }> }).created;
  assert.deepEqual(created.map((c) => c.userName).sort(), [...names].sort());
  for (const c of created) {
    assert.equal(fake.records.get(c.uid)?.folderUid, shared.uid);
    assert.equal(getFieldValue(fake.recordData(c.uid) as unknown as KeeperRecord, "login"), c.userName);
  }
  const again = await rekeyAsync([...args, "--import", "--folder", shared.uid, "--json"], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { created: unknown[] }).created,
    [],
    "a second run creates nothing",
  );
});

test("what a Keeper vault cannot do is refused by its capability, naming the backend and what to do", async () => {
  const cases: Array<{ args: string[]; says: RegExp; hint: RegExp }> = [
    {
      args: ["record", "history", "anything"],
      says: /rekey record history needs the record's earlier versions, which Keeper vault/,
      hint: /Keeper itself/,
    },
    {
      args: ["record", "restore", "anything", "--version", "1"],
      says: /rekey record restore needs the record's earlier versions/,
      hint: /Keeper itself/,
    },
    {
      args: ["audit", "head"],
      says: /rekey audit head needs a signed head of the vault file/,
      hint: /local vault/,
    },
    {
      args: ["audit", "verify", "--expect-head", "x"],
      says: /--expect-head\/--head-file needs a signed head/,
      hint: /local vault/,
    },
    {
      args: ["vault", "add-key-file", join(home, "never.key")],
      says: /rekey vault add-key-file needs key slots/,
      hint: /KSM config/,
    },
    {
      args: ["folder", "add", "top"],
      says: /rekey folder add without --parent needs to create a shared folder/,
      hint: /share it with the KSM application/,
    },
    {
      args: ["record", "add", "--type", "login", "--title", "nowhere"],
      says: /rekey record add without --folder needs a record outside any folder/,
      hint: /--folder/,
    },
  ];
  for (const c of cases) {
    const r = await rekeyAsync(c.args, { env });
    assert.equal(r.code, 2, `${c.args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, c.says);
    assert.match(r.stderr, c.hint);
  }
  assert.equal(existsSync(join(home, "never.key")), false, "no key file is made for a vault without slots");
});

test("rekey keeper-script: the same as the bundle, from the installed CLI", async () => {
  const { old, s } = seeded();
  const { REKEY_VAULT: _, ...plain } = env;
  const r = await rekeyAsync(["keeper-script", "--ksm-config", env.REKEY_VAULT!.slice("keeper:".length)], {
    env: { ...plain, AWS_ENDPOINT_URL: sandbox.endpoint },
    input: `${gatewayLineFor(fake, s)}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Deleted Access Keys: ${old.accessKeyId}`));
  assert.notEqual(keyOf(s.userUid), old.accessKeyId);

  const bad = await rekeyAsync(["keeper-script"], { env: plain, input: "not base64!\n" });
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /^rekey: the Gateway input on stdin is not base64/);
});

test("import csv on a Keeper vault: rows in an application's shared folder are created in Keeper; a row outside any folder is refused", async () => {
  const shared = fake.addSharedFolder(`kv-csv-${Date.now()}`);
  const title = `kv-csv-login-${Date.now()}`;
  const csv = join(home, `kv-import-${Date.now()}.csv`);
  writeFileSync(csv, `sub,${title},bob,pw,,,${shared.name}\n`);
  const r = await rekeyAsync(["import", "csv", csv, "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout) as Array<{ uid: string; action: string }>;
  assert.equal(row?.action, "created");
  const sub = fake.records.get(row!.uid)?.innerFolderUid;
  assert.equal(fake.folders.get(sub ?? "")?.name, "sub", "the sub-folder made in the shared folder");
  assert.equal(fake.folders.get(sub ?? "")?.parentUid, shared.uid);

  writeFileSync(csv, `,${title}-root,bob,pw,,,\n`);
  const root = await rekeyAsync(["import", "csv", csv], { env });
  assert.equal(root.code, 2, root.stderr);
  assert.match(root.stderr, /rekey import csv needs a record outside any folder/);
});
