// rekey's benchmarks: cold-start costs of the real CLI as a gateway would spawn it, and a cold rotation side by
// side with the seed's Python script (scripts/bench-seed-rotation.py, boto3) when python3 has boto3.
// Usage: npm run bench [-- --runs 20]. Prints median and p90 per case, medians and ratios for the pairs. Not a
// test: no thresholds here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const BIN = new URL("../bin/rekey.js", import.meta.url).pathname;

function rekey(args, env, input = "") {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    input,
    encoding: "utf8",
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`rekey ${args.join(" ")} failed: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(0)} ms, p90 ${q(0.9).toFixed(0)} ms (n=${s.length})`;
}

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];

// `a` and the baseline `b` alternately (a, b, a, b...), after one warm-up run of each: medians and a/b.
function pairs(name, a, b) {
  a();
  b();
  const as = [];
  const bs = [];
  for (let i = 0; i < RUNS; i++) {
    as.push(a());
    bs.push(b());
  }
  const ratio = median(as) / median(bs);
  console.log(
    `${name.padEnd(28)} median ${median(as).toFixed(0)} ms, python ${median(bs).toFixed(0)} ms: ` +
      `ratio ${ratio.toFixed(2)} (target <= 0.40) (n=${RUNS} pairs)`,
  );
}

// Why the Python comparison cannot run, or undefined when python3 with boto3 is present.
const pythonMissing = (() => {
  const r = spawnSync("python3", ["-c", "import boto3"], { encoding: "utf8" });
  if (r.error) return "python3 not found";
  if (r.status !== 0) return "python3 has no boto3 (pip install boto3)";
  return undefined;
})();

// Sets up an IAM user with one key for scripts/bench-seed-rotation.py and returns its timed run, or
// undefined when Python with boto3 is missing. The admin key travels in the Gateway line's records, as the seed
// reads it; each run rotates the user's key (create, list, delete the old one).
async function seedRotation(iam, endpoint, admin) {
  if (pythonMissing) return undefined;
  const { CreateUserCommand, CreateAccessKeyCommand } = await import("@aws-sdk/client-iam");
  await iam.send(new CreateUserCommand({ UserName: "bench-python-user" }));
  await iam.send(new CreateAccessKeyCommand({ UserName: "bench-python-user" }));
  const dir = mkdtempSync(join(tmpdir(), "rekey-bench-python-"));
  const records = [
    {
      uid: "bench-admin",
      aws_access_key_id: admin.accessKeyId,
      aws_secret_access_key: admin.secretAccessKey,
    },
  ];
  const line = Buffer.from(
    JSON.stringify({
      user: "bench-python-user",
      userRecordUid: "bench-python-user",
      records: Buffer.from(JSON.stringify(records)).toString("base64"),
    }),
  ).toString("base64");
  const seed = new URL("./bench-seed-rotation.py", import.meta.url).pathname;
  return () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("python3", [seed, "--endpoint-url", endpoint, "--out", join(dir, "record.json")], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, AWS_EC2_METADATA_DISABLED: "true" },
      input: `${line}\n`,
      encoding: "utf8",
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`the seed's Python rotation failed: ${r.stderr}`);
    return ms;
  };
}

function bench(name, fn) {
  fn(); // warm the OS file cache and Node's compile cache once
  const samples = [];
  for (let i = 0; i < RUNS; i++) samples.push(fn());
  console.log(`${name.padEnd(44)} ${stats(samples)}`);
}

const node = () => {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ["-e", "0"]);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

const home = mkdtempSync(join(tmpdir(), "rekey-bench-"));
const keyFile = join(home, "vault.key");
rekey(["init", "--key-file", keyFile], { REKEY_HOME: home, REKEY_PASSPHRASE: "bench passphrase" });
// The code cache (src/code-cache/) in the bench's own directory: each case's warm-up run writes it.
const env = { REKEY_HOME: home, REKEY_KEY_FILE: keyFile, XDG_CACHE_HOME: join(home, "cache") };
rekey(["record", "add", "--title", "alice", "--set", "login=alice"], env);

console.log(`node ${process.version}, ${RUNS} runs per case`);
bench("node -e 0 (floor)", node);
bench("rekey --version", () => rekey(["--version"], env).ms);
bench("rekey record get (key file unlock)", () => rekey(["record", "get", "alice", "login"], env).ms);

// `rekey rotate`, cold, once per process, against a sandbox in its own process (as a gateway would run it).
const { spawn } = await import("node:child_process");
const root = {
  accessKeyId: "AKIABENCHROOT0000001",
  secretAccessKey: "benchRootSecret0000000000000000000000001",
};
const sandboxProc = spawn(process.execPath, [BIN, "sandbox", "--port", "0"], {
  env: {
    PATH: process.env.PATH,
    REKEY_SANDBOX_ROOT_KEY_ID: root.accessKeyId,
    REKEY_SANDBOX_ROOT_SECRET: root.secretAccessKey,
  },
  stdio: ["ignore", "pipe", "inherit"],
});
try {
  const endpoint = await new Promise((resolve, reject) => {
    let out = "";
    sandboxProc.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const m = /on (http:\/\/[0-9.:]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    sandboxProc.on("exit", () => reject(new Error(`sandbox exited: ${out}`)));
  });
  const { IAMClient, CreateUserCommand, CreateAccessKeyCommand } = await import("@aws-sdk/client-iam");
  const iam = new IAMClient({ endpoint, region: "us-east-1", credentials: root });
  await iam.send(new CreateUserCommand({ UserName: "bench-user" }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "bench-user" }))).AccessKey;
  rekey(
    [
      "record",
      "add",
      "--type",
      "login",
      "--title",
      "admin",
      "--set",
      `aws_access_key_id=${root.accessKeyId}`,
      "--secret",
      "aws_secret_access_key",
    ],
    env,
    `${root.secretAccessKey}\n`,
  );
  rekey(
    [
      "record",
      "add",
      "--title",
      "bench-user",
      "--set",
      "login=bench-user",
      "--set",
      `aws_access_key_id=${key.AccessKeyId}`,
      "--set",
      "rotation_credentials=admin",
      "--secret",
      "aws_secret_access_key",
    ],
    env,
    `${key.SecretAccessKey}\n`,
  );
  // The sandbox reports last use to the millisecond: without this, each rotation would hold the key the
  // previous one just verified (IAM's minute precision) and the next would refuse.
  const rotateEnv = { ...env, AWS_EC2_METADATA_DISABLED: "true", REKEY_LAST_USE_RESOLUTION_MS: "1" };
  const rotate = () => rekey(["rotate", "bench-user", "--endpoint-url", endpoint], rotateEnv).ms;
  bench("rekey rotate (create-then-delete)", rotate);
  // A first run after an install or upgrade: no code cache to use (a cache directory that cannot be created).
  const noCache = { ...rotateEnv, XDG_CACHE_HOME: join(keyFile, "no-cache") };
  bench(
    "rekey rotate, no code cache (first run)",
    () => rekey(["rotate", "bench-user", "--endpoint-url", endpoint], noCache).ms,
  );
  bench(
    "rekey rotate --verify",
    () => rekey(["rotate", "bench-user", "--verify", "--endpoint-url", endpoint], rotateEnv).ms,
  );

  // The Keeper Gateway script: the single-file bundle, copied alone (no node_modules), run with plain `node`
  // and the Gateway's line on stdin, against a fake Keeper over HTTPS (its own process) and the sandbox; and the
  // same script as a single executable when `npm run build` made one.
  await iam.send(new CreateUserCommand({ UserName: "bench-keeper-user" }));
  const gwKey = (await iam.send(new CreateAccessKeyCommand({ UserName: "bench-keeper-user" }))).AccessKey;
  const gwDir = mkdtempSync(join(tmpdir(), "rekey-bench-gateway-"));
  const script = join(gwDir, "rekey-aws-access-key.cjs");
  copyFileSync(new URL("../dist/keeper/rekey-aws-access-key.cjs", import.meta.url), script);
  const seaPath = new URL(
    `../dist/keeper/rekey-aws-access-key-${process.platform}-${process.arch}`,
    import.meta.url,
  ).pathname;
  const keeperProc = spawn(
    process.execPath,
    ["--import", "tsx", new URL("./bench-keeper.ts", import.meta.url).pathname],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  try {
    keeperProc.stdin.write(
      `${JSON.stringify({
        dir: gwDir,
        userName: "bench-keeper-user",
        currentKey: { id: gwKey.AccessKeyId, secret: gwKey.SecretAccessKey },
        admin: root,
      })}\n`,
    );
    const keeper = await new Promise((resolve, reject) => {
      let out = "";
      keeperProc.stdout.setEncoding("utf8").on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve(JSON.parse(out));
      });
      keeperProc.on("exit", () => reject(new Error(`fake Keeper exited: ${out}`)));
    });
    const gatewayEnv = {
      HOME: gwDir,
      REKEY_HOME: join(gwDir, "rekey"),
      KSM_CONFIG_FILE: keeper.configFile,
      NODE_EXTRA_CA_CERTS: keeper.caFile,
      AWS_ENDPOINT_URL: endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
      REKEY_LAST_USE_RESOLUTION_MS: "1",
    };
    const gatewayRun = (cmd, args) => () => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, {
        cwd: gwDir,
        env: { PATH: process.env.PATH, ...gatewayEnv },
        input: `${keeper.line}\n`,
        encoding: "utf8",
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`the keeper script failed: ${r.stderr}`);
      return ms;
    };
    const bundle = gatewayRun(process.execPath, [script]);
    const sea = existsSync(seaPath) ? gatewayRun(seaPath, []) : undefined;

    // The seed's Python script (boto3) doing the same rotation against the same sandbox, timed in pairs with
    // each of the three: rekey, python, rekey, python... so that both sides see the same machine load.
    const python = await seedRotation(iam, endpoint, root);
    if (python === undefined) {
      bench("keeper script bundle (Gateway run, rotation)", bundle);
      if (sea) bench("keeper script executable (Gateway run, rotation)", sea);
      console.log(`python seed comparison skipped: ${pythonMissing}`);
    } else {
      console.log("side by side with the seed's Python script (boto3), pairs alternating:");
      pairs("rekey rotate", rotate, python);
      pairs("keeper script bundle", bundle, python);
      if (sea) pairs("keeper script executable", sea, python);
      else console.log(`keeper script executable: skipped (${seaPath} not built: npm run build)`);
    }
  } finally {
    keeperProc.stdin.end();
  }
} finally {
  sandboxProc.kill("SIGTERM");
}
