/**
 * The API over a real SQLite vault (records written through the store) with a gateway handle as a plain
 * object: auth, every route, 400/404 without side effects, audit entries with the token's name, the
 * OpenAPI document, metrics, /healthz, and no secret in any response.
 */
import assert from "node:assert/strict";
import { timingSafeEqual } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ListedForStatus } from "../gateway/status.js";
import { STATUS_FACTS } from "../gateway/status-facts.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { fakeGatewayHandle, type HttpFixture, httpFixture, TOKENS } from "../testing/http-fixture.js";
import { tempVault } from "../testing/vault.js";
import { listingPages } from "../vault/listing-cache.js";
import { type ApiDeps, type App, createApp } from "./app.js";
import { loadTokens } from "./auth.js";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

let fx: HttpFixture;
/** Every response body any test received: scanned for secrets at the end. */
const bodies: string[] = [];

before(async () => {
  fx = await httpFixture(new Date());
});
after(() => fx.cleanup());

function mk(over: Partial<ApiDeps> = {}): App {
  return createApp({
    store: fx.store,
    gateway: fakeGatewayHandle(),
    tokens: loadTokens({ tokens: TOKENS }),
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    now: () => fx.now,
    keyAgeLimitDays: 90,
    publicMetrics: false,
    healthTimeoutMs: 1000,
    ...over,
  });
}

async function call(
  app: App,
  method: string,
  path: string,
  o: { token?: string | null; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? TOKENS.ops : o.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (o.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
  }
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  bodies.push(text);
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

const auditCount = async () => (await fx.store.listAudit()).length;

test("no token and a wrong token get 401; /healthz and the dashboard page need none", async () => {
  const app = mk();
  for (const token of [null, "ops-token-0123456789abcdeX", "", "Basic abc"]) {
    const r = await call(app, "GET", "/api/v1/records", { token });
    assert.equal(r.status, 401, `token ${token}`);
    assert.equal(r.json.error.kind, "auth");
    assert.match(r.headers.get("WWW-Authenticate") ?? "", /^Bearer/);
  }
  assert.equal((await call(app, "GET", "/api/v1/records", { token: TOKENS.ci })).status, 200);
  assert.equal((await call(app, "GET", "/healthz", { token: null })).status, 200);
  const page = await call(app, "GET", "/", { token: null });
  assert.equal(page.status, 200);
  assert.match(page.text, /<table id="records">/);
  assert.match(page.headers.get("Content-Security-Policy") ?? "", /default-src 'none'/);
  for (const p of ["/metrics", "/api/v1/openapi.json", "/api/v1/audit"])
    assert.equal((await call(app, "GET", p, { token: null })).status, 401, p);
});

test("tokens are compared in constant time: every configured token, digest to digest", async () => {
  const seen: Array<[number, number]> = [];
  const app = mk({
    compare: (a, b) => {
      seen.push([a.length, b.length]);
      return timingSafeEqual(a, b);
    },
  });
  assert.equal((await call(app, "GET", "/api/v1/records", { token: "short" })).status, 401);
  // One comparison per configured token (no early exit), always of equal-length sha256 digests.
  assert.deepEqual(seen, [
    [32, 32],
    [32, 32],
  ]);
  seen.length = 0;
  assert.equal((await call(app, "GET", "/api/v1/records", { token: TOKENS.ops })).status, 200);
  assert.equal(seen.length, 2, "the match on the first token does not stop the loop");
});

test("token sources: short, duplicate and missing tokens are refused", () => {
  assert.throws(() => loadTokens({}), /needs a bearer token/);
  assert.throws(() => loadTokens({ token: "too-short" }), /shorter than 16/);
  assert.throws(() => loadTokens({ tokens: { "bad name": "x".repeat(20) } }), /not valid/);
  assert.deepEqual(
    loadTokens({ token: "a".repeat(20), tokens: { ci: "b".repeat(20) } }).map((t) => t.name),
    ["api", "ci"],
  );
});

test("GET /api/v1/records: every managed user, failed first, key age, schedule, next rotation", async () => {
  const r = await call(mk(), "GET", "/api/v1/records");
  assert.equal(r.status, 200);
  assert.equal(r.json.keyAgeLimitDays, 90);
  const recs = r.json.records as Json[];
  assert.deepEqual(
    recs.map((x) => x.user),
    ["app-broken", "app-old", "app-fresh"],
  );
  assert.deepEqual(
    recs.map((x) => x.attention),
    ["failed", "overdue", null],
  );
  const fresh = recs[2];
  assert.equal(fresh.keyId, fx.users[0]!.keyId);
  assert.equal(fresh.keyAgeDays, 3);
  assert.equal(fresh.title, "fresh <b>app</b>");
  assert.match(fresh.schedule, /30/);
  assert.equal(fresh.lastOutcome.outcome, "succeeded");
  assert.ok(Date.parse(fresh.nextRotation) > fx.now.getTime());
  assert.equal(recs[0].lastOutcome.error, "AccessDenied: iam:CreateAccessKey on user app-broken");
  assert.ok(!recs.some((x) => x.title === "admin key"), "only pamUser records");
});

test("the status views through the listing cache: the same records and metrics, the cache written once", async () => {
  const dir = join(fx.vault.dir, "listing-cache");
  let listings = 0;
  const listing = () => {
    listings++;
    return listingPages(fx.store, { dir, derive: STATUS_FACTS }) as AsyncGenerator<ListedForStatus[]>;
  };
  const plain = await call(mk(), "GET", "/api/v1/records");
  const metricsOf = (text: string) =>
    text.split("\n").filter((l) => /^rekey_(access_key_age|records)/.test(l));
  const plainMetrics = metricsOf((await call(mk(), "GET", "/metrics")).text);
  for (let i = 0; i < 2; i++) {
    const cached = await call(mk({ listing }), "GET", "/api/v1/records");
    assert.deepEqual(cached.json, plain.json);
    assert.deepEqual(metricsOf((await call(mk({ listing }), "GET", "/metrics")).text), plainMetrics);
  }
  assert.equal(listings, 4, "each view lists anew");
  assert.equal(readdirSync(dir).filter((f) => f.endsWith(".cache")).length, 1);
});

test("GET /api/v1/records/{uid}: one record; 404 unknown; 400 bad UID", async () => {
  const app = mk();
  const u = fx.users[1]!;
  const r = await call(app, "GET", `/api/v1/records/${u.uid}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.uid, u.uid);
  assert.equal(r.json.keyAgeDays, 120);
  assert.equal(r.json.previousKeys, null);
  const missing = await call(app, "GET", "/api/v1/records/NoSuchRecord000000000");
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.kind, "not-found");
  const bad = await call(app, "GET", "/api/v1/records/bad%20uid!");
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /uid/);
});

test("POST rotate: 202 with the attempt id, audited with the token's name", async () => {
  const handle = fakeGatewayHandle();
  const app = mk({ gateway: handle });
  const u = fx.users[0]!;
  const r = await call(app, "POST", `/api/v1/records/${u.uid}/rotate`, {
    token: TOKENS.ci,
    body: { reason: "leaked in a log" },
  });
  assert.equal(r.status, 202);
  assert.deepEqual(r.json, { recordUid: u.uid, queued: true, attemptId: "attempt-1", requestedBy: "ci" });
  assert.deepEqual(handle.calls, [{ uid: u.uid, actor: "ci" }]);
  const [last] = await fx.store.listAudit({ recordUid: u.uid, limit: 1 });
  assert.equal(last!.action, "api.rotate.request");
  assert.equal(last!.actor, "ci");
  assert.deepEqual(last!.details, { via: "http", reason: "leaked in a log" });
  // Without a body at all.
  assert.equal((await call(app, "POST", `/api/v1/records/${u.uid}/rotate`)).status, 202);
  assert.equal(handle.calls.at(-1)!.actor, "ops");
});

test("POST rotate errors change nothing: 400 bad body, 404 unknown or non-user record, 401", async () => {
  const handle = fakeGatewayHandle();
  const app = mk({ gateway: handle });
  const u = fx.users[0]!;
  const before = await auditCount();
  const cases: Array<[string, unknown, number, RegExp]> = [
    [u.uid, { reason: 42 }, 400, /reason/],
    [u.uid, { reason: "x", extra: true }, 400, /extra|unrecognized/i],
    [u.uid, { reason: "y".repeat(501) }, 400, /reason/],
    [u.uid, "{not json", 400, /json/i],
    ["NoSuchRecord000000000", {}, 404, /no managed record/],
  ];
  for (const [uid, body, status, msg] of cases) {
    const r = await call(app, "POST", `/api/v1/records/${uid}/rotate`, { body });
    assert.equal(r.status, status, JSON.stringify(body));
    assert.match(r.json.error.message, msg);
  }
  const admin = (await fx.store.listRecords()).find((s) => s.record.title === "admin key")!;
  assert.equal((await call(app, "POST", `/api/v1/records/${admin.uid}/rotate`)).status, 404);
  assert.equal((await call(app, "POST", `/api/v1/records/${u.uid}/rotate`, { token: null })).status, 401);
  assert.deepEqual(handle.calls, []);
  assert.equal(await auditCount(), before, "no audit entry");
});

test("POST rotate: 503 when the gateway cannot rotate on demand; 409 (audited) when it refuses", async () => {
  const u = fx.users[0]!;
  const before = await auditCount();
  const none = await call(
    mk({ gateway: fakeGatewayHandle({ noRotate: true }) }),
    "POST",
    `/api/v1/records/${u.uid}/rotate`,
  );
  assert.equal(none.status, 503);
  assert.match(none.json.error.message, /not supported by this gateway/);
  assert.equal(await auditCount(), before);
  const busy = fakeGatewayHandle({ rotate: async () => ({ queued: false, reason: "in-flight" }) });
  const r = await call(mk({ gateway: busy }), "POST", `/api/v1/records/${u.uid}/rotate`);
  assert.equal(r.status, 409);
  const entries = await fx.store.listAudit({ recordUid: u.uid, limit: 2 });
  assert.deepEqual(
    entries.map((e) => [e.action, e.actor]),
    [
      ["api.rotate.request", "ops"],
      ["api.rotate.refused", "ops"],
    ],
  );
});

test("GET /api/v1/attempts: newest first, by record, limit; 404 unknown record; 400 bad limit", async () => {
  const app = mk();
  const all = await call(app, "GET", "/api/v1/attempts");
  assert.equal(all.status, 200);
  assert.deepEqual(
    all.json.attempts.map((a: Json) => a.id),
    ["att-broken-1", "att-fresh-1"],
  );
  const one = await call(app, "GET", `/api/v1/attempts?record=${fx.users[2]!.uid}&limit=5`);
  assert.deepEqual(
    one.json.attempts.map((a: Json) => [a.outcome, a.error.message]),
    [["failed", "AccessDenied: iam:CreateAccessKey on user app-broken"]],
  );
  assert.equal((await call(app, "GET", "/api/v1/attempts?limit=1")).json.attempts.length, 1);
  assert.deepEqual((await call(app, "GET", `/api/v1/attempts?record=${fx.users[1]!.uid}`)).json.attempts, []);
  assert.equal((await call(app, "GET", "/api/v1/attempts?record=NoSuchRecord000000000")).status, 404);
  for (const q of ["limit=0", "limit=501", "limit=abc", "record=bad!"])
    assert.equal((await call(app, "GET", `/api/v1/attempts?${q}`)).status, 400, q);
});

test("GET /api/v1/audit: newest first, limit and record filter", async () => {
  const app = mk();
  const r = await call(app, "GET", "/api/v1/audit?limit=3");
  assert.equal(r.status, 200);
  assert.equal(r.json.entries.length, 3);
  const seqs = r.json.entries.map((e: Json) => e.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a: number, b: number) => b - a),
  );
  const rec = await call(app, "GET", `/api/v1/audit?record=${fx.users[2]!.uid}`);
  assert.ok(rec.json.entries.some((e: Json) => e.action === "gateway.rotation.failed"));
  assert.ok(rec.json.entries.every((e: Json) => e.recordUid === fx.users[2]!.uid));
  assert.equal((await call(app, "GET", "/api/v1/audit?limit=-1")).status, 400);
  assert.equal((await call(app, "GET", "/api/v1/audit?record=NoSuchRecord000000000")).status, 404);
});

test("GET /api/v1/report: CIS 1.14 verdicts of the managed keys, from the vault", async () => {
  const r = await call(mk(), "GET", "/api/v1/report");
  assert.equal(r.status, 200);
  assert.equal(r.json.source, "vault");
  assert.equal(r.json.report.maxAgeDays, 90);
  assert.equal(r.json.report.summary.violations, 1);
  const old = r.json.report.users.find((u: Json) => u.userName === "app-old");
  assert.equal(old.keys[0].cis114, "violation");
  assert.equal((await call(mk(), "GET", "/api/v1/report?maxAgeDays=30")).json.report.summary.violations, 2);
  assert.equal((await call(mk(), "GET", "/api/v1/report?maxAgeDays=0")).status, 400);
});

test("GET /api/v1/openapi.json: an OpenAPI 3.1 document listing every route", async () => {
  const r = await call(mk(), "GET", "/api/v1/openapi.json");
  assert.equal(r.status, 200);
  assert.equal(r.json.openapi, "3.1.0");
  assert.deepEqual(Object.keys(r.json.paths).sort(), [
    "/api/v1/attempts",
    "/api/v1/audit",
    "/api/v1/records",
    "/api/v1/records/{uid}",
    "/api/v1/records/{uid}/rotate",
    "/api/v1/report",
    "/healthz",
  ]);
  assert.ok(r.json.paths["/api/v1/records/{uid}/rotate"].post.responses["202"]);
  assert.ok(r.json.components.schemas.Record.properties.keyAgeDays);
  assert.deepEqual(r.json.components.securitySchemes.bearer, { type: "http", scheme: "bearer" });
});

test("GET /metrics: Prometheus text with the gateway's and the records' metrics", async () => {
  const handle = fakeGatewayHandle();
  handle.metrics.attempt((await fx.store.listRotationHistory({ limit: 1 }))[0] as never);
  handle.metrics.awsRetry("123456789012", true);
  handle.metrics.awsPace("123456789012", "iam", 54.5);
  handle.metrics.script("failure");
  handle.metrics.webhook(true);
  handle.metrics.tick(new Date("2024-01-01T00:00:00Z"));
  const r = await call(mk({ gateway: handle }), "GET", "/metrics");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("Content-Type") ?? "", /text\/plain/);
  for (const line of [
    /^rekey_rotations_total\{outcome="failed",trigger="schedule"\} 1$/m,
    /^rekey_rotation_duration_seconds_bucket\{le="5",outcome="failed"\} 1$/m,
    /^rekey_aws_retries_total\{account="123456789012",throttled="true"\} 1$/m,
    /^rekey_aws_throttles_total\{account="123456789012"\} 1$/m,
    /^rekey_aws_pace_requests_per_second\{account="123456789012",service="iam"\} 54.5$/m,
    /^rekey_scripts_total\{outcome="failure"\} 1$/m,
    /^rekey_webhook_deliveries_total\{result="delivered"\} 1$/m,
    /^rekey_last_successful_tick_timestamp_seconds 1704067200$/m,
    new RegExp(
      `^rekey_access_key_age_seconds\\{record_uid="${fx.users[1]!.uid}",user="app-old"\\} ${120 * 86400}$`,
      "m",
    ),
    /^rekey_records\{state="managed"\} 3$/m,
    /^rekey_records\{state="overdue"\} 1$/m,
    /^rekey_records\{state="due"\} \d$/m,
    /^rekey_vault_reachable 1$/m,
    /^rekey_process_cpu_user_seconds_total /m,
  ])
    assert.match(r.text, line);
  assert.equal((await call(mk({ publicMetrics: true }), "GET", "/metrics", { token: null })).status, 200);
});

test("/healthz: 200 with the gateway's state; 503 when the store does not answer", async () => {
  const ok = await call(mk(), "GET", "/healthz", { token: null });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.status, "ok");
  assert.equal(ok.json.store.reachable, true);
  assert.equal(ok.json.gateway.lastTickAt, "2024-01-01T00:01:00.000Z");
  // A real vault, closed: its calls fail.
  const closed = await tempVault();
  const store = toAsyncStore(closed.store);
  closed.store.close();
  const down = await call(mk({ store }), "GET", "/healthz", { token: null });
  assert.equal(down.status, 503);
  assert.equal(down.json.status, "unavailable");
  assert.equal(down.json.store.reachable, false);
  closed.cleanup = () => {};
  // A store that hangs: the check gives up after its timeout.
  const hanging = { ...fx.store, listAudit: () => new Promise<never>(() => {}) };
  const slow = await call(mk({ store: hanging, healthTimeoutMs: 50 }), "GET", "/healthz", { token: null });
  assert.equal(slow.status, 503);
  assert.match(slow.json.store.error, /within 50 ms/);
  // The gateway says the vault is unreachable.
  const h = fakeGatewayHandle();
  const gw = { ...h, state: () => ({ ...h.state(), vaultReachable: false }) };
  assert.equal((await call(mk({ gateway: gw }), "GET", "/healthz", { token: null })).status, 503);
});

test("no response body holds a secret of the vault or a token", async () => {
  // Every route once more, then everything any test received.
  const app = mk();
  for (const p of [
    "/api/v1/records",
    "/api/v1/attempts",
    "/api/v1/audit?limit=1000",
    "/api/v1/report",
    "/metrics",
  ])
    await call(app, "GET", p);
  for (const u of fx.users) await call(app, "GET", `/api/v1/records/${u.uid}`);
  assert.ok(bodies.length > 40);
  for (const b of bodies)
    for (const s of fx.secrets) assert.ok(!b.includes(s), `a response holds ${s.slice(0, 6)}…`);
});
