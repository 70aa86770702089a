/** The sandbox at the network's edge: a warning off loopback, a connection cap, a body cap before auth. */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { cleanEnv } from "../testing/sandbox-clients.js";
import { runSandboxCommand } from "./command.js";
import { DEFAULT_MAX_CONNECTIONS, type Sandbox, startSandbox } from "./index.js";

let sandbox: Sandbox;
let port: number;
before(async () => {
  sandbox = await startSandbox({ env: cleanEnv() });
  port = sandbox.port;
});
after(() => sandbox.close());

/** One raw HTTP exchange: what came back before the server closed (or `timeoutMs` passed). */
function exchange(head: string, body: Buffer | string = "", timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (/\r\n\r\n/.test(got) && /^HTTP\/1\.1 413/.test(got)) done();
    });
    s.on("error", done);
    s.on("close", done);
    s.write(head);
    if (body.length > 0) s.write(body);
  });
}

test("a body larger than 1 MiB is refused with 413 before authentication, declared or streamed", async () => {
  const declared = await exchange(
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`,
  );
  assert.match(declared, /^HTTP\/1\.1 413 /, "answered from the headers alone");
  assert.match(declared, /request body larger than 1048576 bytes/);

  const chunk = Buffer.alloc(1024 * 1024 + 1, "a");
  const streamed = await exchange(
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n0\r\n\r\n")]),
  );
  assert.match(streamed, /^HTTP\/1\.1 413 /);

  // Under the cap, the request goes on to authentication as before.
  const small = await exchange(
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n",
    "a=b",
  );
  assert.match(small, /^HTTP\/1\.1 (400|403) /);
});

test(`at most ${DEFAULT_MAX_CONNECTIONS} connections at once: more are closed unanswered, until one leaves`, async () => {
  const open: Socket[] = [];
  try {
    for (let i = 0; i < DEFAULT_MAX_CONNECTIONS; i++) {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      open.push(s);
      await new Promise((r) => s.once("connect", r));
    }
    await new Promise((r) => setTimeout(r, 200)); // let the server accept them all
    const refused = await exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 2000);
    assert.equal(refused, "", "one too many: closed without an answer");
    open.pop()?.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const served = await exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 2000);
    assert.match(served, /^HTTP\/1\.1 \d{3} /, "served again once below the cap");
  } finally {
    for (const s of open) s.destroy();
  }
});

test("rekey sandbox warns on stderr when it listens beyond loopback", async () => {
  for (const [host, warned] of [
    ["0.0.0.0", true],
    ["127.0.0.1", false],
  ] as const) {
    let out = "";
    let err = "";
    const stop = new AbortController();
    const running = runSandboxCommand(
      { host, port: 0 },
      {
        stdout: {
          write: (t) => {
            out += t;
          },
        },
        stderr: {
          write: (t) => {
            err += t;
          },
        },
        env: cleanEnv(),
        signal: stop.signal,
      },
    );
    while (!out.includes("Ctrl-C")) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await running;
    if (warned) assert.match(err, /warning: listening on 0\.0\.0\.0, reachable from other machines/);
    else assert.equal(err, "");
  }
});
