import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { cleanEnv, stsClient } from "../testing/sandbox-clients.js";
import { runSandboxCommand } from "./command.js";
import type { Sandbox } from "./index.js";

function capture() {
  let text = "";
  return {
    out: {
      write: (t: string) => {
        text += t;
      },
    },
    text: () => text,
  };
}

async function waitFor(fn: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("rekey sandbox (runSandboxCommand)", () => {
  it("prints the endpoint and the generated credentials once, serves, and stops when asked", async () => {
    const stdout = capture();
    const stderr = capture();
    const stop = new AbortController();
    const running = runSandboxCommand(
      { port: 0, latencyMs: 1, actThenFailMode: "drop", staleListMs: 100 },
      { stdout: stdout.out, stderr: stderr.out, env: cleanEnv(), signal: stop.signal },
    );
    await waitFor(() => stdout.text().includes("Ctrl-C"));
    const text = stdout.text();
    const endpoint = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    const id = /AWS_ACCESS_KEY_ID=(\S+)/.exec(text)?.[1];
    const secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(text)?.[1];
    assert.ok(endpoint && id && secret, text);
    assert.match(text, /sandbox credentials/);
    assert.match(
      text,
      /knobs: latencyMs=1 actThenFailMode=drop staleListMs=100\n/,
      "only knobs off their defaults",
    );
    const sandbox = { endpoint, region: "us-east-1" } as Sandbox;
    const who = await stsClient(sandbox, { accessKeyId: id, secretAccessKey: secret }).send(
      new GetCallerIdentityCommand({}),
    );
    assert.equal(who.Account, "123456789012");
    stop.abort();
    await running;
    assert.match(stdout.text(), /stopped/);
    assert.equal(stdout.text().split(secret).length, 2, "the secret is printed exactly once");
    assert.equal(stderr.text(), "");
  });

  it("does not print root credentials that came from the environment", async () => {
    const stdout = capture();
    const stop = new AbortController();
    const env = {
      ...cleanEnv(),
      REKEY_SANDBOX_ROOT_KEY_ID: "AKIAENVROOT000000002",
      REKEY_SANDBOX_ROOT_SECRET: "env-secret-2",
      REKEY_SANDBOX_ADMIN_TOKEN: "t",
    };
    const running = runSandboxCommand(
      {},
      { stdout: stdout.out, stderr: capture().out, env, signal: stop.signal },
    );
    await waitFor(() => stdout.text().includes("Ctrl-C"));
    stop.abort();
    await running;
    assert.ok(!stdout.text().includes("env-secret-2"));
    assert.ok(!stdout.text().includes("sandbox credentials"));
    assert.match(stdout.text(), /root access key AKIAENVROOT000000002 \(from env\)/);
  });

  it("stops cleanly on SIGTERM (as a process)", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        'import("./src/sandbox/command.ts").then((m) => m.runSandboxCommand({ port: 0 }))',
      ],
      { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor(() => out.includes("Ctrl-C"), 15_000);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(out, /stopped/);
  });
});
