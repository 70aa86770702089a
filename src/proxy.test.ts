import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { resolveEndpoints } from "./providers/aws-iam/endpoints.js";
import { createSdkIamPort, httpOptions } from "./providers/aws-iam/sdk-port.js";
import { awsProxyAgents, proxyConfigured } from "./proxy.js";
import { type Sandbox, startSandbox } from "./sandbox/index.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

let sandbox: Sandbox;
let proxy: Server;
let proxyUrl: string;
/** `host:port` of each request the proxy forwarded. */
const forwarded: string[] = [];

before(async () => {
  sandbox = await startSandbox();
  // A loopback forward proxy for plain http (the sandbox's scheme): absolute-URL requests, passed on.
  proxy = createServer((req, res) => {
    const target = new URL(req.url ?? "");
    forwarded.push(target.host);
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: target.pathname,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
after(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((r) => proxy.close(() => r()));
  await sandbox.close();
});

/** Runs `fn` with these proxy variables as the whole proxy environment of the process. */
async function withProxyEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const names = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"].flatMap((n) => [n, n.toLowerCase()]);
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const n of names) delete process.env[n];
    for (const [n, v] of Object.entries(saved)) if (v !== undefined) process.env[n] = v;
  }
}

async function listThroughPort(user: string): Promise<void> {
  const port = createSdkIamPort({
    endpoints: resolveEndpoints({ region: "us-east-1", endpointUrl: sandbox.endpoint, env: {} }),
    credentials: sandbox.root,
    principal: "test root",
  });
  try {
    assert.deepEqual(await port.listKeys(user), []);
  } finally {
    port.close();
  }
}

test("no proxy variable: plain handler options, no agent, AWS reached directly", async () => {
  sandbox.admin.createUser("px-direct");
  forwarded.length = 0;
  await withProxyEnv({}, async () => {
    assert.equal(proxyConfigured(), false);
    const options = httpOptions(1000);
    assert.equal(typeof options, "object");
    assert.equal("httpAgent" in (options as object), false);
    assert.deepEqual(await awsProxyAgents(), {});
    await listThroughPort("px-direct");
  });
  assert.deepEqual(forwarded, []);
});

test("HTTP_PROXY set: the proxy agent is loaded on demand and the AWS calls go through the proxy", async () => {
  sandbox.admin.createUser("px-proxied");
  forwarded.length = 0;
  const host = new URL(sandbox.endpoint).host;
  await withProxyEnv({ HTTP_PROXY: proxyUrl }, async () => {
    assert.equal(proxyConfigured(), true);
    const agents = await awsProxyAgents();
    assert.ok("httpAgent" in agents && agents.httpAgent === agents.httpsAgent);
    agents.httpAgent.destroy();
    await listThroughPort("px-proxied");
  });
  assert.deepEqual(forwarded, [host]);
  // NO_PROXY naming the endpoint: direct again.
  forwarded.length = 0;
  await withProxyEnv({ HTTP_PROXY: proxyUrl, NO_PROXY: host }, () => listThroughPort("px-proxied"));
  assert.deepEqual(forwarded, []);
});
