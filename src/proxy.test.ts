import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { resolveEndpoints } from "./providers/aws-iam/endpoints.js";
import { createSdkIamPort, httpOptions } from "./providers/aws-iam/sdk-port.js";
import { awsProxyAgents, proxyConfigured } from "./proxy.js";
import { type Sandbox, startSandbox } from "./sandbox/index.js";
import { startTestProxy, type TestProxy } from "./testing/proxy-server.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

let sandbox: Sandbox;
let proxy: TestProxy;

before(async () => {
  sandbox = await startSandbox();
  proxy = await startTestProxy();
});
after(async () => {
  await proxy.close();
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
  proxy.forwarded.length = 0;
  await withProxyEnv({}, async () => {
    assert.equal(proxyConfigured(), false);
    const options = httpOptions(1000);
    assert.equal(typeof options, "object");
    assert.equal("httpAgent" in (options as object), false);
    assert.deepEqual(await awsProxyAgents(), {});
    await listThroughPort("px-direct");
  });
  assert.deepEqual(proxy.forwarded, []);
});

test("HTTP_PROXY set: the proxy agent is loaded on demand and the AWS calls go through the proxy", async () => {
  sandbox.admin.createUser("px-proxied");
  proxy.forwarded.length = 0;
  const host = new URL(sandbox.endpoint).host;
  await withProxyEnv({ HTTP_PROXY: proxy.url }, async () => {
    assert.equal(proxyConfigured(), true);
    const agents = await awsProxyAgents();
    assert.ok("httpAgent" in agents && agents.httpAgent === agents.httpsAgent);
    agents.httpAgent.destroy();
    await listThroughPort("px-proxied");
  });
  assert.deepEqual(proxy.forwarded, [host]);
  // NO_PROXY naming the endpoint: direct again.
  proxy.forwarded.length = 0;
  await withProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: host }, () => listThroughPort("px-proxied"));
  assert.deepEqual(proxy.forwarded, []);
});
