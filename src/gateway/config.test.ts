import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { gatewayConfigSchema, loadGatewayConfig } from "./config.js";
import { defaultGatewayConfig, gatewayConfigGiven, loadGatewayConfigLazily } from "./config-layers.js";

const dir = mkdtempSync(join(tmpdir(), "rekey-gw-config-"));
function file(name: string, content: unknown, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  chmodSync(p, mode);
  return p;
}
const usage = (text: RegExp) => (err: unknown) =>
  err instanceof RekeyError && err.kind === "usage" && text.test(err.message);

test("defaults: documented values, nothing required", () => {
  const { config, file: f, warnings } = loadGatewayConfig({}, {});
  assert.equal(f, undefined);
  assert.deepEqual(warnings, []);
  assert.equal(config.tickSeconds, 30);
  assert.equal(config.maxConcurrent, 32);
  assert.equal(config.maxPerAccount, 16);
  assert.equal(config.jitterSeconds, 60);
  assert.deepEqual(config.retry, { maxAttempts: 4, baseDelaySeconds: 30, maxDelaySeconds: 600 });
  assert.equal(config.scriptTimeoutSeconds, 300);
  assert.deepEqual(config.webhooks, []);
  assert.deepEqual(config.engine, {});
});

test("layers: file < environment < flags; nested objects merge key by key", () => {
  const f = file("layers.json", {
    tickSeconds: 10,
    maxConcurrent: 3,
    jitterSeconds: 5,
    retry: { maxAttempts: 2 },
    engine: { endpointUrl: "http://127.0.0.1:1", region: "eu-west-1" },
    webhooks: [{ url: "https://hooks.example/T0/B0/secret-token", format: "slack" }],
  });
  const { config, file: used } = loadGatewayConfig(
    { tick: "0.5", endpointUrl: "http://127.0.0.1:2", verify: true },
    { REKEY_GATEWAY_CONFIG: f, REKEY_GATEWAY_TICK_SECONDS: "7", REKEY_GATEWAY_MAX_CONCURRENT: "6" },
  );
  assert.equal(used, f);
  assert.equal(config.tickSeconds, 0.5, "flag wins over env and file");
  assert.equal(config.maxConcurrent, 6, "env wins over file");
  assert.equal(config.jitterSeconds, 5, "file wins over default");
  assert.deepEqual(config.retry, { maxAttempts: 2, baseDelaySeconds: 30, maxDelaySeconds: 600 });
  assert.deepEqual(config.engine, { endpointUrl: "http://127.0.0.1:2", region: "eu-west-1", verify: true });
  assert.equal(config.webhooks[0]?.format, "slack");
  assert.equal(config.webhooks[0]?.maxAttempts, 5, "notify.ts's defaults apply");
});

test("a webhook from the environment (never argv)", () => {
  const { config } = loadGatewayConfig({}, { REKEY_GATEWAY_WEBHOOK_URL: "http://127.0.0.1:9/hook" });
  assert.equal(config.webhooks.length, 1);
  assert.equal(config.webhooks[0]?.format, "json");
});

test("errors name the setting and where it comes from, never the value", () => {
  assert.throws(() => loadGatewayConfig({ tick: "soon" }, {}), usage(/tickSeconds \(--tick/));
  assert.throws(() => loadGatewayConfig({}, { REKEY_GATEWAY_MAX_PER_ACCOUNT: "0" }), usage(/maxPerAccount/));
  const bad = file("bad.json", { webhooks: [{ url: "ftp://token-abc@hooks.example/x" }], nonsense: 1 });
  assert.throws(
    () => loadGatewayConfig({ config: bad }, {}),
    (err: unknown) =>
      usage(/gateway config file .*bad\.json/)(err) &&
      /webhooks/.test((err as Error).message) &&
      /nonsense/.test((err as Error).message) &&
      !(err as Error).message.includes("token-abc"),
  );
  assert.throws(
    () => loadGatewayConfig({ config: file("x.json", "{ not json token-abc") }, {}),
    (err: unknown) => usage(/not valid JSON/)(err) && !(err as Error).message.includes("token-abc"),
  );
  assert.throws(() => loadGatewayConfig({ config: join(dir, "missing.json") }, {}), usage(/cannot read/));
});

test("a config file holding webhooks that others can read gets a warning", () => {
  const f = file("open.json", { webhooks: [{ url: "http://127.0.0.1:9/hook" }] }, 0o644);
  const { warnings } = loadGatewayConfig({ config: f }, {});
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /chmod 600/);
});

test("the defaults `rekey rotate` uses without loading the schema are the schema's", async () => {
  assert.deepEqual(defaultGatewayConfig(), gatewayConfigSchema.parse({}));
  assert.deepEqual((await loadGatewayConfigLazily({}, {})).config, loadGatewayConfig({}, {}).config);
  assert.equal(gatewayConfigGiven({}, { REKEY_GATEWAY_TICK_SECONDS: "" }), false);
});

test("anything configured goes through the schema: a file, a variable, a flag, and their errors", async () => {
  const f = file("lazy.json", { scriptTimeoutSeconds: 12 });
  assert.equal((await loadGatewayConfigLazily({ config: f }, {})).config.scriptTimeoutSeconds, 12);
  assert.equal((await loadGatewayConfigLazily({}, { REKEY_GATEWAY_CONFIG: f })).file, f);
  assert.equal(
    (await loadGatewayConfigLazily({}, { REKEY_GATEWAY_TICK_SECONDS: "5" })).config.tickSeconds,
    5,
  );
  assert.equal(
    (await loadGatewayConfigLazily({ region: "eu-west-1" }, {})).config.engine.region,
    "eu-west-1",
  );
  await assert.rejects(
    loadGatewayConfigLazily({}, { REKEY_GATEWAY_MAX_CONCURRENT: "many" }),
    usage(/REKEY_GATEWAY_MAX_CONCURRENT/),
  );
  await assert.rejects(loadGatewayConfigLazily({ config: file("bad.json", "{") }, {}), usage(/bad\.json/));
});
