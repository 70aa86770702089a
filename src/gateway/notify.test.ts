import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import {
  notifyAll,
  parseRetryAfter,
  type RotationNotice,
  sendWebhook,
  type WebhookConfigInput,
  webhookBody,
  webhookConfigSchema,
} from "./notify.js";

const SECRETS = ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "hunter2-vault-passphrase"];

interface Hit {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A receiver whose answers are scripted per path: each request takes the next status. */
class Receiver {
  hits: Hit[] = [];
  private plans = new Map<string, Array<number | "hang" | { status: number; retryAfter: string }>>();
  private server: Server = createServer((req, res) => this.handle(req, res));
  url = "";

  async start() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  plan(path: string, answers: Array<number | "hang" | { status: number; retryAfter: string }>) {
    this.plans.set(path, answers);
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const path = req.url ?? "/";
      this.hits.push({ path, headers: req.headers, body });
      const next = this.plans.get(path)?.shift() ?? 200;
      if (next === "hang") return; // never answers: the client's timeout must fire
      if (typeof next === "object") {
        res.writeHead(next.status, { "retry-after": next.retryAfter }).end();
        return;
      }
      res.writeHead(next).end(next === 200 ? "ok" : "nope");
    });
  }

  count(path: string) {
    return this.hits.filter((h) => h.path === path).length;
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const rx = new Receiver();
before(() => rx.start());
after(() => rx.stop());

const succeeded: RotationNotice = {
  event: "rotation.succeeded",
  record: { uid: "Ab3dEf6hIj9lMn2pQr5tUv", title: "alice (AWS)" },
  user: "alice",
  keyIds: { created: "AKIANEWKEY0000000001", deleted: ["AKIAOLDKEY0000000001"], deactivated: [] },
  at: "2024-01-01T04:00:00.000Z",
};
const failed: RotationNotice = {
  ...succeeded,
  event: "rotation.failed",
  keyIds: { created: null, deleted: [], deactivated: [] },
  // A message that (wrongly) quotes a secret: it must still not leave.
  error: `AccessDenied for user alice <admin> & key ${SECRETS[0]}`,
};

function config(path: string, extra: Partial<WebhookConfigInput> = {}) {
  return webhookConfigSchema.parse({ url: `${rx.url}${path}`, baseDelayMs: 100, maxDelayMs: 1000, ...extra });
}

/** Records the waits instead of waiting. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

function assertNoSecrets(body: string) {
  for (const s of SECRETS) assert.ok(!body.includes(s), `body leaks ${s.slice(0, 6)}...`);
}

test("JSON: retried on 503 and 429 until delivered; the body is the notice, without secrets", async () => {
  rx.plan("/json", [503, 429, 200]);
  const { waits, sleep } = recorder();
  const res = await sendWebhook(config("/json"), failed, { sleep, random: () => 1, secrets: SECRETS });
  assert.deepEqual(res, { target: rx.url, ok: true, attempts: 3, status: 200 });
  assert.equal(rx.count("/json"), 3);
  assert.deepEqual(waits, [100, 200], "exponential backoff");
  const hit = rx.hits.filter((h) => h.path === "/json").at(-1)!;
  assert.equal(hit.headers["content-type"], "application/json");
  const body = JSON.parse(hit.body);
  assert.deepEqual(Object.keys(body), ["event", "record", "user", "keyIds", "error", "at"]);
  assert.equal(body.event, "rotation.failed");
  assert.deepEqual(body.record, failed.record);
  assert.match(body.error, /AccessDenied for user alice <admin> & key \[REDACTED\]/);
  for (const h of rx.hits) assertNoSecrets(h.body);
});

test("Slack format: {text, blocks}, escaped, without secrets", async () => {
  rx.plan("/slack", [200]);
  const res = await sendWebhook(config("/slack", { format: "slack" }), failed, { secrets: SECRETS });
  assert.equal(res.ok, true);
  const hit = rx.hits.find((h) => h.path === "/slack")!;
  assertNoSecrets(hit.body);
  const body = JSON.parse(hit.body);
  assert.match(body.text, /^:x: rekey could not rotate the access key of IAM user \*alice\*/);
  assert.match(body.text, /&lt;admin&gt; &amp; key \[REDACTED\]/);
  assert.equal(body.blocks[0].type, "section");
  const ok = webhookBody(succeeded, "slack") as { text: string };
  assert.match(ok.text, /new key `AKIANEWKEY0000000001`; deleted `AKIAOLDKEY0000000001`/);
  const held = webhookBody(
    {
      ...succeeded,
      event: "rotation.held",
      keyIds: { ...succeeded.keyIds, deleted: [] },
      error:
        "held: old key still in use (AKIAOLDKEY0000000001 last used 2026-01-01T00:00:00.000Z (sts, us-east-1))",
    },
    "slack",
  ) as { text: string };
  assert.match(
    held.text,
    /^:hourglass: rekey kept an old access key of IAM user \*alice\*.*still uses it: held: old key still in use \(AKIAOLDKEY0000000001/,
  );
});

test("a 4xx other than 429 is final", async () => {
  rx.plan("/gone", [404, 200]);
  const res = await sendWebhook(config("/gone"), succeeded, recorder());
  assert.deepEqual(res, { target: rx.url, ok: false, attempts: 1, status: 404, error: "HTTP 404" });
  assert.equal(rx.count("/gone"), 1);
});

test("gives up after maxAttempts", async () => {
  rx.plan("/down", [500, 500, 500, 500]);
  const { waits, sleep } = recorder();
  const res = await sendWebhook(config("/down", { maxAttempts: 3 }), succeeded, { sleep, random: () => 0 });
  assert.equal(res.ok, false);
  assert.equal(res.attempts, 3);
  assert.equal(res.status, 500);
  assert.deepEqual(waits, [50, 100], "jitter keeps at least half the cap");
});

test("Retry-After is honoured, up to maxDelayMs", async () => {
  rx.plan("/slow", [{ status: 429, retryAfter: "3600" }, 200]);
  const { waits, sleep } = recorder();
  const res = await sendWebhook(config("/slow"), succeeded, { sleep, random: () => 0 });
  assert.equal(res.ok, true);
  assert.deepEqual(waits, [1000]);
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(
    parseRetryAfter("Wed, 01 Jan 2025 00:00:10 GMT", () => Date.parse("2025-01-01T00:00:00Z")),
    10_000,
  );
  assert.equal(parseRetryAfter("soon"), undefined);
});

test("a receiver that does not answer times out and is retried", async () => {
  rx.plan("/hang", ["hang", 200]);
  const res = await sendWebhook(config("/hang", { timeoutMs: 200 }), succeeded, recorder());
  assert.equal(res.ok, true);
  assert.equal(res.attempts, 2);
});

test("network errors are retried; the error names only the origin", async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const cfg = webhookConfigSchema.parse({
    url: `http://127.0.0.1:${port}/T000/B000/secret-token`,
    maxAttempts: 2,
  });
  const { waits, sleep } = recorder();
  const res = await sendWebhook(cfg, succeeded, { sleep });
  assert.equal(res.ok, false);
  assert.equal(res.attempts, 2);
  assert.equal(waits.length, 1);
  assert.equal(res.target, `http://127.0.0.1:${port}`);
  assert.ok(!JSON.stringify(res).includes("secret-token"));
  assert.match(res.error ?? "", /ECONNREFUSED|fetch failed/);
});

test("notifyAll sends to the webhooks subscribed to the event", async () => {
  rx.plan("/all-ok", [200]);
  rx.plan("/all-fail", [200]);
  const results = await notifyAll(
    [
      config("/all-ok", { events: ["rotation.succeeded"] }),
      config("/all-fail", { events: ["rotation.failed"] }),
    ],
    succeeded,
  );
  assert.equal(results.length, 1);
  assert.equal(rx.count("/all-ok"), 1);
  assert.equal(rx.count("/all-fail"), 0);
});

test("config: defaults, and bad URLs refused", () => {
  const c = webhookConfigSchema.parse({ url: "https://hooks.example.com/x" });
  assert.equal(c.format, "json");
  assert.deepEqual(c.events, [
    "rotation.succeeded",
    "rotation.script-failed",
    "rotation.held",
    "rotation.failed",
  ]);
  assert.equal(c.maxAttempts, 5);
  assert.throws(() => webhookConfigSchema.parse({ url: "ftp://example.com" }));
  assert.throws(() => webhookConfigSchema.parse({ url: "not a url" }));
});

test("a redirect is not followed: the body and the headers never reach the other origin; a 3xx is final", async () => {
  const elsewhere = new Receiver();
  await elsewhere.start();
  const redirector = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(307, { location: `${elsewhere.url}/stolen` }).end());
  });
  await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
  const from = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  let hits = 0;
  redirector.on("request", () => hits++);
  try {
    const cfg = webhookConfigSchema.parse({
      url: `${from}/hook`,
      headers: { authorization: "Bearer webhook-token", "x-api-key": "webhook-key" },
    });
    const { waits, sleep } = recorder();
    const res = await sendWebhook(cfg, succeeded, { sleep });
    assert.equal(res.ok, false);
    assert.equal(res.status, 307);
    assert.equal(res.attempts, 1, "a redirect is not retried");
    assert.deepEqual(waits, []);
    assert.match(res.error ?? "", /HTTP 307.*redirect.*not followed/);
    assert.equal(hits, 1);
    assert.deepEqual(elsewhere.hits, [], "the second origin received nothing");
  } finally {
    await elsewhere.stop();
    redirector.closeAllConnections();
    await new Promise((r) => redirector.close(r));
  }
});
