/**
 * `rekey gateway --listen`: the built CLI serves the HTTP API from a running gateway process (loopback,
 * token from REKEY_API_TOKEN), and stops serving on SIGTERM.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BIN, freshHome, rekey, spawnNode } from "../testing/cli.js";

const TOKEN = "listen-test-token-0123456789abcdef";

test("gateway --listen serves /healthz, the token-guarded API and /metrics until SIGTERM", async () => {
  const { env } = freshHome();
  const added = rekey(["record", "add", "--title", "alice (AWS)", "--set", "login=alice"], { env });
  assert.equal(added.code, 0, added.stderr);
  const g = spawnNode([BIN, "gateway", "--listen", "127.0.0.1:0", "--tick", "60"], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REKEY_LOG_LEVEL: "info",
      REKEY_API_TOKEN: TOKEN,
      ...env,
    },
  });
  try {
    let url: string | undefined;
    for (let i = 0; i < 100 && !url; i++) {
      const line = g
        .output()
        .stderr.split("\n")
        .find((l) => l.includes("HTTP API listening"));
      if (line) url = (JSON.parse(line) as { url: string }).url;
      else await sleep(100);
    }
    assert.ok(url, `the gateway said where it listens: ${g.output().stderr}`);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/api/v1/records`)).status, 401);
    const records = await fetch(`${url}/api/v1/records`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(records.status, 200);
    const body = JSON.stringify(await records.json());
    assert.match(body, /alice \(AWS\)/);
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await metrics.text();
    assert.match(text, /^# HELP /m);
    // The gateway reports its ticks to the metrics (GatewayObserver): a real time, not 0.
    assert.match(text, /^rekey_last_successful_tick_timestamp_seconds [1-9]/m);
    assert.ok(!g.output().stderr.includes(TOKEN), "the token is never logged");
    g.child.kill("SIGTERM");
    const { code } = await g.exited;
    assert.equal(code, 0, g.output().stderr);
    await assert.rejects(fetch(`${url}/healthz`), "no longer serving");
  } finally {
    g.child.kill("SIGKILL");
  }
});

test("the gateway config's listen and http.tokenFile do the same (flags win)", async () => {
  const { home, env } = freshHome();
  const tokenFile = join(home, "api-tokens");
  writeFileSync(tokenFile, `ops:${TOKEN}\n`, { mode: 0o600 });
  const configFile = join(home, "gateway.json");
  writeFileSync(configFile, JSON.stringify({ listen: "127.0.0.1:0", http: { tokenFile } }), { mode: 0o600 });
  const g = spawnNode([BIN, "gateway", "--config", configFile, "--tick", "60"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REKEY_LOG_LEVEL: "info", ...env },
  });
  try {
    let url: string | undefined;
    for (let i = 0; i < 100 && !url; i++) {
      const line = g
        .output()
        .stderr.split("\n")
        .find((l) => l.includes("HTTP API listening"));
      if (line) url = (JSON.parse(line) as { url: string }).url;
      else await sleep(100);
    }
    assert.ok(url, g.output().stderr);
    const ok = await fetch(`${url}/api/v1/records`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    g.child.kill("SIGTERM");
    assert.equal((await g.exited).code, 0, g.output().stderr);
  } finally {
    g.child.kill("SIGKILL");
  }
});
