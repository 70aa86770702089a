// A fleet rotated at the account's IAM quota: how close the gateway comes to it.
//
//   npm run bench:fleet -- --users N --rate R [--neighbour Q] [--burst B] [--verify]
//                          [--max-concurrent C] [--max-per-account P] [--tick S] [--json] [--timeline]
//
// The sandbox (src/sandbox) runs in a child process, throttling each account to R requests/s per
// service (IAM and STS apart, as AWS does), with bursts of B (default: one second's worth). It holds N
// IAM users and an admin user whose key the vault's admin record holds. A "neighbour" in that process
// keeps making Q IAM requests/s (GetUser, ListUsers) with the account's root key, as other tools do in
// real accounts; its throttles are its own business. This process builds a vault of N due pamUser
// records (one transaction, as src/gateway/fleet.test.ts does) and runs the real gateway in-process
// until every record has an attempt.
//
// The figures are the sandbox's own count (requests served and throttled, by caller key and service),
// over the time from the gateway's start to its last attempt:
//   IAM calls     requests of the admin key to IAM that the sandbox served (retries included)
//   IAM req/s     those over the elapsed time; ratio = IAM req/s / (R - Q), the share left to us
//   activeRatio   the same over the time from the gateway's first AWS call to its last (its start-up,
//                 repair and first listing of the vault, left out)
//   throttles     requests of the admin key IAM throttled (each one was retried)
//   STS calls     verification requests (--verify), made with the new keys; paced apart from IAM
//   cpuMsPerRotation  the gateway process's CPU time (user + system) per attempt
// Not a test: the figures depend on the machine (run it alone; 2 cores are enough up to R = 200).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "200" },
    rate: { type: "string", default: "100" },
    neighbour: { type: "string", default: "0" },
    burst: { type: "string", default: "0" },
    verify: { type: "boolean", default: false },
    "max-concurrent": { type: "string" },
    tick: { type: "string", default: "30" },
    "max-per-account": { type: "string" },
    json: { type: "boolean", default: false },
    "timeout-seconds": { type: "string", default: "1800" },
    timeline: { type: "boolean", default: false },
  },
});

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

if (process.env.BENCH_FLEET_SANDBOX) {
  await runSandbox(JSON.parse(process.env.BENCH_FLEET_SANDBOX));
} else {
  await runMain();
}

/** The child: the sandbox, its users, the neighbour; answers `traffic` over IPC. */
async function runSandbox({ users, rate, burst, neighbour }) {
  const { startSandbox } = await import("../src/sandbox/index.ts");
  const { IAMClient, GetUserCommand, ListUsersCommand } = await import("@aws-sdk/client-iam");
  const sandbox = await startSandbox({ env: {}, throttleRate: rate, throttleBurst: burst });
  sandbox.admin.createUser("rekey-admin");
  sandbox.admin.putUserPolicy("rekey-admin", "rotate", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["iam:*", "sts:*"], Resource: "*" }],
  });
  const admin = sandbox.admin.createAccessKey("rekey-admin");
  const created = [];
  for (let i = 0; i < users; i++) {
    const name = `fleet-${String(i).padStart(5, "0")}`;
    sandbox.admin.createUser(name);
    const key = sandbox.admin.createAccessKey(name);
    created.push({ name, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  }
  const iam = new IAMClient({
    region: "us-east-1",
    endpoint: sandbox.endpoint,
    credentials: sandbox.root,
    maxAttempts: 1,
  });
  let timer;
  let i = 0;
  process.on("disconnect", () => process.exit(0)); // the bench died: do not linger
  process.on("message", (m) => {
    if (m.type === "start-neighbour" && neighbour > 0) {
      // Q requests/s spread evenly (a request every 1000/Q ms, several per timer beyond 100/s).
      const everyMs = Math.max(10, 1000 / neighbour);
      const perTick = (neighbour * everyMs) / 1000;
      let owed = 0;
      timer = setInterval(() => {
        owed += perTick;
        for (; owed >= 1; owed--) {
          const cmd = i++ % 2 ? new ListUsersCommand({ MaxItems: 1 }) : new GetUserCommand({});
          iam.send(cmd).catch(() => {});
        }
      }, everyMs);
    }
    if (m.type === "stop-neighbour") clearInterval(timer);
    if (m.type === "traffic") process.send({ type: "traffic", traffic: sandbox.traffic() });
    if (m.type === "close") {
      clearInterval(timer);
      iam.destroy();
      sandbox.close().then(() => process.exit(0));
    }
  });
  process.send({
    type: "ready",
    endpoint: sandbox.endpoint,
    accountId: sandbox.accountId,
    root: sandbox.root.accessKeyId,
    admin,
    users: created,
  });
}

async function runMain() {
  const users = Number(args.users);
  const rate = Number(args.rate);
  const neighbour = Number(args.neighbour);
  const burst = Number(args.burst);
  if (!(users >= 1 && rate > 0 && neighbour >= 0 && neighbour < rate && burst >= 0)) {
    throw new Error("need --users >= 1, --rate > 0, 0 <= --neighbour < --rate, --burst >= 0");
  }
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, BENCH_FLEET_SANDBOX: JSON.stringify({ users, rate, burst, neighbour }) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const messages = [];
  const waiters = [];
  child.on("message", (m) => {
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else messages.push(m);
  });
  const next = (type) => {
    const i = messages.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]);
    return new Promise((resolve) => waiters.push({ type, resolve }));
  };
  const sb = await next("ready");

  const { tempVault } = await import("../src/testing/vault.ts");
  const { toAsyncStore } = await import("../src/stores/sqlite/async-adapter.ts");
  const { newRecord, setFieldValue } = await import("../src/vault/record.ts");
  const { gatewayConfigSchema } = await import("../src/gateway/config.ts");
  const { createGateway } = await import("../src/gateway/gateway.ts");
  const { parseSchedule } = await import("../src/gateway/schedule.ts");
  const { setRecordSchedule } = await import("../src/gateway/schedule-field.ts");

  const vault = await tempVault({ passphrase: false });
  const { store } = vault;
  const admin = newRecord("login", "fleet admin");
  setFieldValue(admin, "aws_access_key_id", sb.admin.accessKeyId, { type: "text" });
  setFieldValue(admin, "aws_secret_access_key", sb.admin.secretAccessKey, { type: "secret" });
  const adminUid = store.createRecord(admin, { actor: "bench" }).uid;
  const config = newRecord("pamAwsConfiguration", "fleet account");
  setFieldValue(config, "awsId", sb.accountId);
  store.createRecord(config, { actor: "bench" });
  const schedule = parseSchedule("every 1d");
  store.transaction(() => {
    for (const u of sb.users) {
      let r = newRecord("pamUser", u.name);
      setFieldValue(r, "login", u.name);
      setFieldValue(r, "aws_access_key_id", u.accessKeyId, { type: "text" });
      setFieldValue(r, "aws_secret_access_key", u.secretAccessKey, { type: "secret" });
      setFieldValue(r, "rotation_credentials", adminUid);
      r = setRecordSchedule(r, schedule);
      store.createRecord(r, { actor: "bench" });
    }
  });

  // --timeline: AWS calls (first attempts) and throttles per second, on stderr.
  const seconds = [];
  const slot = () => {
    const i = Math.floor((performance.now() - started) / 1000);
    seconds[i] ??= { calls: 0, throttles: 0, rotated: 0 };
    return seconds[i];
  };
  let started = performance.now();
  let firstCallAt;
  let lastCallAt;
  const gateway = createGateway({
    // As `rekey gateway` opens it (stores/open.ts): commits grouped.
    store: toAsyncStore(store, { groupCommits: true }),
    observer: {
      awsCall: () => {
        slot().calls++;
        firstCallAt ??= performance.now();
        lastCallAt = performance.now();
      },
      awsRetry: (_a, throttled) => {
        if (throttled) slot().throttles++;
      },
    },
    config: gatewayConfigSchema.parse({
      // The default tick: the first listing is at start, and a finished job re-plans without one.
      tickSeconds: Number(args.tick),
      jitterSeconds: 0,
      ...(args["max-concurrent"] ? { maxConcurrent: Number(args["max-concurrent"]) } : {}),
      ...(args["max-per-account"] ? { maxPerAccount: Number(args["max-per-account"]) } : {}),
      engine: { endpointUrl: sb.endpoint, ...(args.verify ? { verify: true } : {}) },
    }),
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  });

  // A running gateway has the engine and the AWS SDK loaded: load them before the clock starts.
  await import("../src/rotation/index.ts");
  await import("@aws-sdk/client-iam");
  await import("@aws-sdk/client-sts");
  child.send({ type: "start-neighbour" });
  await new Promise((r) => setTimeout(r, 1000)); // the neighbour settles into its pace
  child.send({ type: "traffic" });
  const before = (await next("traffic")).traffic;
  started = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = started + Number(args["timeout-seconds"]) * 1000;
  await gateway.start();
  const tty = process.stderr.isTTY && !args.json;
  while (gateway.attempts.length < users && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (tty) process.stderr.write(`\r\x1b[2Krotated ${gateway.attempts.length}/${users}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  if (args.timeline) {
    for (const [i, x] of seconds.entries()) {
      if (x) process.stderr.write(`${i}s calls ${x.calls} throttles ${x.throttles}\n`);
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  child.send({ type: "traffic" });
  const after = (await next("traffic")).traffic;
  if (tty) process.stderr.write("\r\x1b[2K");
  child.send({ type: "stop-neighbour" });
  const stats = gateway.stats();
  await gateway.stop(10_000);
  child.send({ type: "close" });
  vault.cleanup();

  const delta = (key, svc, field) => (after[key]?.[svc]?.[field] ?? 0) - (before[key]?.[svc]?.[field] ?? 0);
  const iamCalls = delta(sb.admin.accessKeyId, "iam", "accepted");
  const throttles = delta(sb.admin.accessKeyId, "iam", "throttled");
  let stsCalls = 0;
  let stsThrottles = 0;
  for (const key of Object.keys(after)) {
    if (key === sb.root) continue;
    stsCalls += delta(key, "sts", "accepted");
    stsThrottles += delta(key, "sts", "throttled");
  }
  const neighbourServed = delta(sb.root, "iam", "accepted") / elapsed;
  const achieved = iamCalls / elapsed;
  // From the gateway's first AWS call to its last: the fleet's use of the quota, without the gateway's
  // start-up (repair, first listing) before it.
  const active = ((lastCallAt ?? started) - (firstCallAt ?? started)) / 1000;
  const result = {
    users,
    quota: rate,
    burst: burst || Math.ceil(rate),
    neighbour,
    neighbourServed: round(neighbourServed, 1),
    elapsedSeconds: round(elapsed, 2),
    iamCalls,
    iamPerSecond: round(achieved, 1),
    ratio: round(achieved / (rate - neighbour), 3),
    activeSeconds: round(active, 2),
    activeRatio: round(iamCalls / active / (rate - neighbour), 3),
    rotationsPerMinute: round((stats.succeeded * 60) / elapsed, 0),
    rotated: stats.succeeded,
    failedAttempts: stats.failed,
    attempts: gateway.attempts.length,
    throttles,
    stsCalls,
    stsThrottles,
    // Of the gateway's process (vault, engine, SDK): near elapsedSeconds means CPU-bound, not quota-bound.
    gatewayCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
    // Its CPU per attempt (user + system, the vault's commits included): 1000 / this is the most
    // rotations a second one core allows.
    cpuMsPerRotation: round((cpu.user + cpu.system) / 1e3 / Math.max(1, gateway.attempts.length), 1),
    paces: gateway
      .paces?.()
      .map((p) => `${p.service}:${p.rate ?? "unpaced"}`)
      .join(" "),
  };
  if (args.json) {
    console.log(JSON.stringify(result));
  } else {
    const w = Math.max(...Object.keys(result).map((k) => k.length));
    for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(w)}  ${v}`);
  }
  process.exitCode = result.failedAttempts === 0 && result.rotated === users ? 0 : 1;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
