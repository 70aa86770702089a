/**
 * `rekey sandbox`: runs the IAM + STS endpoint in the foreground until SIGINT/SIGTERM.
 * Prints the endpoint, and the root credentials and admin token only when they were generated
 * (they are sandbox credentials, valid against this process only, shown once).
 */
import { isLoopbackHost } from "../providers/aws-iam/endpoints.js";
import { DEFAULT_KNOBS, KNOB_NAMES, type Knobs } from "./knobs.js";

/** Where to listen, what to load, and any knob (`knobsFromFlags` turns CLI flags into knobs). */
export interface SandboxCommandOptions extends Partial<Knobs> {
  host?: string;
  port?: number;
  seedFile?: string;
  stateFile?: string;
}

export interface SandboxCommandIo {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
  env: NodeJS.ProcessEnv;
  /** Stops the sandbox when aborted (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

const defaultIo = (): SandboxCommandIo => ({
  stdout: { write: (t) => void process.stdout.write(t) },
  stderr: { write: (t) => void process.stderr.write(t) },
  env: process.env,
});

export async function runSandboxCommand(
  opts: SandboxCommandOptions,
  io: SandboxCommandIo = defaultIo(),
): Promise<void> {
  const { startSandbox } = await import("./index.js");
  const knobs: Record<string, unknown> = {};
  for (const name of KNOB_NAMES) if (opts[name] !== undefined) knobs[name] = opts[name];
  const sandbox = await startSandbox({
    ...(knobs as Partial<Knobs>),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.seedFile !== undefined ? { seedFile: opts.seedFile } : {}),
    ...(opts.stateFile !== undefined ? { stateFile: opts.stateFile } : {}),
    env: io.env,
    log: (line) => io.stderr.write(`${line}\n`),
  });

  const out = io.stdout;
  if (!isLoopbackHost(sandbox.host)) {
    io.stderr.write(
      `rekey sandbox: warning: listening on ${sandbox.host}, reachable from other machines: its root credentials and admin token are for tests only, and it speaks plain http (use --host 127.0.0.1 unless you mean it)\n`,
    );
  }
  out.write(
    `rekey sandbox: AWS IAM + STS on ${sandbox.endpoint} (account ${sandbox.accountId}, region ${sandbox.region})\n`,
  );
  if (sandbox.rootSource === "generated" || sandbox.adminTokenGenerated) {
    out.write("sandbox credentials (generated for this run, shown once):\n");
    if (sandbox.rootSource === "generated") {
      out.write(`  AWS_ACCESS_KEY_ID=${sandbox.root.accessKeyId}\n`);
      out.write(`  AWS_SECRET_ACCESS_KEY=${sandbox.root.secretAccessKey}\n`);
    }
    if (sandbox.adminTokenGenerated) out.write(`  REKEY_SANDBOX_ADMIN_TOKEN=${sandbox.adminToken}\n`);
  } else {
    out.write(`root access key ${sandbox.root.accessKeyId} (from ${sandbox.rootSource})\n`);
  }
  const active = Object.entries(sandbox.knobs.get()).filter(
    ([name, v]) => v !== DEFAULT_KNOBS[name as keyof Knobs],
  );
  if (active.length > 0) out.write(`knobs: ${active.map(([n, v]) => `${n}=${v}`).join(" ")}\n`);
  out.write(`try: aws --endpoint-url ${sandbox.endpoint} iam list-users   (Ctrl-C stops)\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      io.signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener("abort", stop);
  });
  await sandbox.close();
  out.write("rekey sandbox: stopped\n");
}
