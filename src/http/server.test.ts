/**
 * startHttpServer on real sockets: loopback by default, a non-loopback address refused without TLS,
 * HTTPS with a certificate, /metrics public only on loopback, and the listen address rules (pure).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fakeGatewayHandle, type HttpFixture, httpFixture, TOKENS } from "../testing/http-fixture.js";
import { checkExposure, isLoopback, parseListen } from "./listen.js";
import { startHttpServer } from "./server.js";

let fx: HttpFixture;
before(async () => {
  fx = await httpFixture();
});
after(() => fx.cleanup());

test("parseListen and isLoopback", () => {
  assert.deepEqual(parseListen("127.0.0.1:8080"), { host: "127.0.0.1", port: 8080, loopback: true });
  assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0, loopback: true });
  assert.deepEqual(parseListen(":9000"), { host: "127.0.0.1", port: 9000, loopback: true });
  assert.deepEqual(parseListen("0.0.0.0:80"), { host: "0.0.0.0", port: 80, loopback: false });
  assert.equal(parseListen("localhost:1").loopback, true);
  assert.equal(isLoopback("127.8.9.10"), true);
  assert.equal(isLoopback("::ffff:127.0.0.1"), true);
  assert.equal(isLoopback("10.0.0.1"), false);
  for (const bad of ["8080", "host", "1.2.3.4:99999", "[nope]:1", "a:b:c"])
    assert.throws(() => parseListen(bad), /listen/);
  assert.throws(
    () => checkExposure(parseListen("0.0.0.0:1"), { tls: false, allowInsecure: false }),
    /without TLS/,
  );
  checkExposure(parseListen("0.0.0.0:1"), { tls: true, allowInsecure: false });
  checkExposure(parseListen("0.0.0.0:1"), { tls: false, allowInsecure: true });
});

test("serves on loopback; a non-loopback address without TLS is refused before listening", async () => {
  const s = await startHttpServer({
    store: fx.store,
    gateway: fakeGatewayHandle(),
    listen: "127.0.0.1:0",
    token: TOKENS.ops,
    publicMetrics: true,
  });
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${s.url}/api/v1/records`)).status, 401);
    const ok = await fetch(`${s.url}/api/v1/records`, { headers: { Authorization: `Bearer ${TOKENS.ops}` } });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${s.url}/metrics`)).status, 200, "publicMetrics on loopback");
  } finally {
    await s.close();
  }
  await assert.rejects(
    startHttpServer({
      store: fx.store,
      gateway: fakeGatewayHandle(),
      listen: "0.0.0.0:0",
      token: TOKENS.ops,
    }),
    /without TLS/,
  );
  await assert.rejects(
    startHttpServer({ store: fx.store, gateway: fakeGatewayHandle(), listen: "127.0.0.1:0" }),
    /needs a bearer token/,
  );
});

test("a token file of NAME:TOKEN lines; HTTPS with a certificate on any address", async () => {
  const dir = fx.vault.dir;
  const tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `# API tokens\nops:${TOKENS.ops}\nci:${TOKENS.ci}\n`, { mode: 0o600 });
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
    ],
    { stdio: "ignore" },
  );
  const s = await startHttpServer({
    store: fx.store,
    gateway: fakeGatewayHandle(),
    listen: "0.0.0.0:0",
    tokenFile,
    tls: { cert, key },
    publicMetrics: true,
  });
  try {
    assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const get = (path: string, token?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${s.url}${path}`,
          { rejectUnauthorized: false, headers: token ? { Authorization: `Bearer ${token}` } : {} },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
    assert.equal(await get("/api/v1/records", TOKENS.ci), 200);
    assert.equal(await get("/api/v1/records"), 401);
    assert.equal(await get("/metrics"), 401, "publicMetrics is ignored off loopback");
  } finally {
    await s.close();
  }
});
