// rekey's benchmarks: cold-start costs of the real CLI as a gateway would spawn it.
// Usage: npm run bench [-- --runs 20]. Prints median and p90 per case. Not a test: no thresholds here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
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
const env = { REKEY_HOME: home, REKEY_KEY_FILE: keyFile };
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
  bench(
    "rekey rotate (create-then-delete)",
    () => rekey(["rotate", "bench-user", "--endpoint-url", endpoint], rotateEnv).ms,
  );
  bench(
    "rekey rotate --verify",
    () => rekey(["rotate", "bench-user", "--verify", "--endpoint-url", endpoint], rotateEnv).ms,
  );

  // The Keeper Gateway script: the single-file bundle, copied alone (no node_modules), run with plain `node`
  // and the Gateway's line on stdin, against a fake Keeper over HTTPS (its own process) and the sandbox.
  await iam.send(new CreateUserCommand({ UserName: "bench-keeper-user" }));
  const gwKey = (await iam.send(new CreateAccessKeyCommand({ UserName: "bench-keeper-user" }))).AccessKey;
  const gwDir = mkdtempSync(join(tmpdir(), "rekey-bench-gateway-"));
  const { copyFileSync } = await import("node:fs");
  const script = join(gwDir, "rekey-aws-access-key.mjs");
  copyFileSync(new URL("../dist/keeper/rekey-aws-access-key.mjs", import.meta.url), script);
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
    bench("keeper script bundle (Gateway run, rotation)", () => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [script], {
        cwd: gwDir,
        env: { PATH: process.env.PATH, ...gatewayEnv },
        input: `${keeper.line}\n`,
        encoding: "utf8",
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`the keeper script failed: ${r.stderr}`);
      return ms;
    });
  } finally {
    keeperProc.stdin.end();
  }
} finally {
  sandboxProc.kill("SIGTERM");
}
