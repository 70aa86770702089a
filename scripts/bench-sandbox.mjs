// Throughput of the sandbox (src/sandbox) for signed ListAccessKeys requests.
//
//   node --import tsx scripts/bench-sandbox.mjs [--seconds 5] [--concurrency 32] [--workers <cpus>] [--mode sdk|presigned]
//
// The sandbox runs in this process; the load comes from separate client processes so that the
// client's own cost (the AWS SDK's middleware, signing and XML parsing) does not share the
// sandbox's CPU core:
//   --mode sdk        (default) each worker drives the real IAMClient (keep-alive agent, `concurrency`
//                     requests in flight), signing every request.
//   --mode presigned  each worker signs one request up front and replays it over keep-alive
//                     sockets: the sandbox still parses, verifies the SigV4 signature, evaluates the
//                     caller's policy and renders XML for every request. This measures the sandbox
//                     alone, not the SDK.
// Every request is made by an IAM user whose only permission is iam:ListAccessKeys on user/*, so
// policy evaluation is part of the measured path.
import { fork } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    workers: { type: "string", default: String(cpus().length) },
    mode: { type: "string", default: "sdk" },
    warmup: { type: "string", default: "1" },
  },
});

if (process.env.BENCH_SANDBOX_WORKER) {
  await runWorker(JSON.parse(process.env.BENCH_SANDBOX_WORKER));
} else {
  await runMain();
}

async function runMain() {
  const seconds = Number(args.seconds);
  const concurrency = Number(args.concurrency);
  const workers = Number(args.workers);
  const warmup = Number(args.warmup);
  const mode = args.mode;
  if (!["sdk", "presigned"].includes(mode)) throw new Error(`--mode must be sdk or presigned, got ${mode}`);

  const { startSandbox } = await import("../src/sandbox/index.ts");
  const sandbox = await startSandbox({ env: {} });
  sandbox.admin.createUser("bench");
  sandbox.admin.createAccessKey("bench");
  sandbox.admin.createUser("caller");
  sandbox.admin.putUserPolicy("caller", "list-keys", {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "iam:ListAccessKeys", Resource: "arn:aws:iam::*:user/*" }],
  });
  const credentials = sandbox.admin.createAccessKey("caller");

  const startAt = Date.now() + 300;
  const config = { endpoint: sandbox.endpoint, credentials, concurrency, mode, startAt, warmup, seconds };
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise((resolve, reject) => {
          const child = fork(fileURLToPath(import.meta.url), [], {
            env: {
              ...process.env,
              BENCH_SANDBOX_WORKER: JSON.stringify(config),
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
            },
            execArgv: [],
          });
          child.on("message", resolve);
          child.on("error", reject);
          child.on("exit", (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
        }),
    ),
  );
  const cpu = process.cpuUsage(cpuStart);
  const wall = performance.now() - wallStart;
  await sandbox.close();

  const ok = results.reduce((n, r) => n + r.ok, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const elapsed = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pct = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(2);
  const rate = ok / elapsed;
  console.log(
    `sandbox ListAccessKeys (${mode === "sdk" ? "AWS SDK IAMClient, signed per request" : "pre-signed, verified per request"}): ` +
      `${Math.round(rate)} req/s over ${elapsed.toFixed(1)} s — ${workers} client process(es) × ${concurrency} in flight, ` +
      `${ok} ok, ${errors} errors, latency p50 ${pct(50)} ms p99 ${pct(99)} ms (${cpus().length} CPUs, node ${process.version})`,
  );
  // CPU time the sandbox process spent (it did nothing else) per request served, warm-up included.
  const served = results.reduce((n, r) => n + r.total, 0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `sandbox process: ${((cpuMs / wall) * 100).toFixed(0)}% of one core, ${((cpuMs * 1000) / served).toFixed(0)} µs CPU per request ` +
      `→ about ${Math.round((served / cpuMs) * 1000)} req/s per core of sandbox capacity`,
  );
  if (errors > 0) {
    console.error(
      `first errors: ${results
        .flatMap((r) => r.firstErrors)
        .slice(0, 3)
        .join(" | ")}`,
    );
    process.exitCode = 1;
  }
}

async function runWorker(config) {
  const http = await import("node:http");
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.concurrency });
  const send = config.mode === "sdk" ? await sdkSender(config, agent) : await presignedSender(config, agent);

  await new Promise((r) => setTimeout(r, Math.max(0, config.startAt - Date.now())));
  const warmEnd = Date.now() + config.warmup * 1000;
  const end = warmEnd + config.seconds * 1000;
  let ok = 0;
  let total = 0;
  let errors = 0;
  const firstErrors = [];
  const latencies = [];
  let measuredStart = 0;
  async function loop() {
    while (Date.now() < end) {
      const t = performance.now();
      const measuring = Date.now() >= warmEnd;
      try {
        await send();
        total++;
        if (measuring) {
          ok++;
          if (latencies.length < 200_000) latencies.push(performance.now() - t);
        }
      } catch (err) {
        if (measuring) errors++;
        if (firstErrors.length < 3) firstErrors.push(String(err?.message ?? err));
      }
    }
  }
  setTimeout(
    () => {
      measuredStart = performance.now();
    },
    Math.max(0, warmEnd - Date.now()),
  );
  await Promise.all(Array.from({ length: config.concurrency }, loop));
  const elapsedMs = performance.now() - measuredStart;
  agent.destroy();
  process.send({ ok, total, errors, elapsedMs, latencies, firstErrors }, () => process.exit(0));
}

async function sdkSender(config, agent) {
  const { IAMClient, ListAccessKeysCommand } = await import("@aws-sdk/client-iam");
  const { NodeHttpHandler } = await import("@smithy/node-http-handler");
  const client = new IAMClient({
    endpoint: config.endpoint,
    region: "us-east-1",
    credentials: config.credentials,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  const command = () => new ListAccessKeysCommand({ UserName: "bench" });
  return async () => {
    const out = await client.send(command());
    if (out.AccessKeyMetadata?.length !== 1) throw new Error("unexpected ListAccessKeys answer");
  };
}

async function presignedSender(config, agent) {
  const http = await import("node:http");
  const { createHash, createHmac } = await import("node:crypto");
  const { SignatureV4 } = await import("@smithy/signature-v4");
  class Sha256 {
    constructor(secret) {
      this.secret = secret;
      this.reset();
    }
    update(data) {
      this.hash.update(typeof data === "string" ? data : Buffer.from(data));
    }
    async digest() {
      return new Uint8Array(this.hash.digest());
    }
    reset() {
      this.hash =
        this.secret === undefined ? createHash("sha256") : createHmac("sha256", Buffer.from(this.secret));
    }
  }
  const url = new URL(config.endpoint);
  const body = "Action=ListAccessKeys&Version=2010-05-08&UserName=bench";
  const signer = new SignatureV4({
    credentials: config.credentials,
    region: "us-east-1",
    service: "iam",
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    query: {},
    headers: {
      host: url.host,
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(body.length),
    },
    body,
  });
  return () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: "/", method: "POST", headers: signed.headers, agent },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () =>
            res.statusCode === 200 && text.includes("<AccessKeyMetadata>")
              ? resolve()
              : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}
