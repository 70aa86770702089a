/**
 * The dashboard in a real browser (slow: Debian's chromium driven by playwright-core): served on loopback
 * over a real vault and the local IAM sandbox, the token passed in the URL fragment. It checks the records
 * table, clicks "rotate now", confirms, and sees the new key id, which the real rotation engine created
 * in the sandbox. A screenshot is saved in the test's temp dir (its path is printed).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { toAuditEvent } from "../gateway/history-model.js";
import { parseAttempt } from "../gateway/history-schema.js";
import { rotateRecord } from "../rotation/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { fakeGatewayHandle } from "../testing/http-fixture.js";
import {
  addRecord,
  fastOptions,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { getFieldValue } from "../vault/record.js";
import { type HttpServer, startHttpServer } from "./server.js";

// What the page functions below use of the browser (this file is type-checked without the DOM's types;
// the page's CSP forbids string evaluation, so they stay functions).
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const sessionStorage: { getItem(key: string): string | null };

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "browser-test-token-0123456789";

let fx: RotationFixture;
let server: HttpServer;
let browser: Browser;
const users: Array<{ uid: string; name: string; keyId: string }> = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  fx = await rotationFixture({ rootCredential: "admin key" });
  const { sandbox, store } = fx;
  for (const prefix of ["web", "batch"]) {
    const name = uniqueName(prefix);
    sandbox.admin.createUser(name);
    const key = sandbox.admin.createAccessKey(name);
    const rec = addRecord(
      store,
      pamUser(`${prefix} <i>service</i>`, name, { rotation_credentials: "admin key" }),
    );
    recordKey(store, rec.uid, key.accessKeyId, key.secretAccessKey);
    users.push({ uid: rec.uid, name, keyId: key.accessKeyId });
  }
  const async = toAsyncStore(store);
  let n = 0;
  // Rotate now, for real: the engine against the sandbox, then the history entry a gateway would write.
  const handle = fakeGatewayHandle({
    rotate: async (uid, actor) => {
      const startedAt = new Date();
      const r = await rotateRecord(async, uid, fastOptions(sandbox, { actor }));
      const entry = parseAttempt({
        id: `browser-${++n}`,
        recordUid: uid,
        trigger: "manual",
        attempt: 1,
        startedAt: startedAt.toISOString(),
        endedAt: new Date().toISOString(),
        outcome: "succeeded",
        keyIds: {
          created: r.created?.accessKeyId ?? null,
          deleted: [...r.deleted],
          deactivated: [...r.deactivated],
        },
        final: true,
      });
      await async.appendRotationHistory(entry, toAuditEvent(entry));
      return { queued: true, attemptId: entry.id };
    },
  });
  server = await startHttpServer({
    store: async,
    gateway: handle,
    listen: "127.0.0.1:0",
    tokens: { browser: TOKEN },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await fx?.close();
});

test("dashboard: records table, rotate now with confirmation, the new key id appears", async (t) => {
  const page = await browser.newPage();
  const requested: string[] = [];
  page.on("request", (r) => requested.push(r.url()));
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  await page.goto(`${server.url}/#token=${TOKEN}`);
  const target = users[0]!;
  const row = page.locator(`#records tbody tr[data-uid="${target.uid}"]`);
  await row.waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("#records tbody tr").count(), 2);
  for (const u of users) {
    const r = page.locator(`#records tbody tr[data-uid="${u.uid}"]`);
    assert.equal(await r.locator(".key-id").textContent(), u.keyId);
    assert.match((await r.textContent()) ?? "", new RegExp(u.name));
  }
  // Titles are text, not markup.
  assert.equal(await page.locator("#records i").count(), 0);
  assert.match((await row.textContent()) ?? "", /web <i>service<\/i>/);
  // The token left the address bar and lives in this tab's session storage.
  assert.equal(new URL(page.url()).hash, "");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("rekey.apiToken")), TOKEN);
  assert.ok(await page.locator("#chart svg rect").count(), "the key-age chart is drawn");
  assert.equal(
    await page.locator("#login").isVisible(),
    false,
    "the token form is gone once the token works",
  );

  await row.locator("button.rotate").click();
  const dialog = page.locator("#confirm");
  await dialog.waitFor({ state: "visible" });
  assert.match((await page.locator("#confirm-text").textContent()) ?? "", new RegExp(target.name));
  await page.locator("#confirm-rotate").click();

  // The new key id, as the engine wrote it to the vault and created it in IAM.
  await page.waitForFunction(
    ([uid, old]) => {
      const cell = document.querySelector(`#records tbody tr[data-uid="${uid}"] .key-id`);
      return !!cell && /^AKIA/.test(cell.textContent ?? "") && cell.textContent !== old;
    },
    [target.uid, target.keyId] as const,
    { timeout: 30_000 },
  );
  const shown = await row.locator(".key-id").textContent();
  const stored = getFieldValue(fx.store.getRecord(target.uid)!.record, "aws_access_key_id");
  assert.equal(shown, stored);
  assert.ok(
    fx.sandbox.admin.listKeys(target.name).some((k) => k.accessKeyId === shown && k.status === "Active"),
  );
  assert.equal(
    await page.locator(`#records tbody tr[data-uid="${users[1]!.uid}"] .key-id`).textContent(),
    users[1]!.keyId,
  );

  // The record's history and audit trail, with the API token's name as the requester.
  await row.click();
  await page.locator("#attempts tbody tr").first().waitFor();
  assert.match((await page.locator("#attempts tbody").textContent()) ?? "", new RegExp(shown!));
  await page.waitForFunction(
    'document.querySelector("#audit tbody").textContent.includes("api.rotate.request")',
  );
  assert.match((await page.locator("#audit tbody").textContent()) ?? "", /browser/);

  const shot = join(mkdtempSync(join(tmpdir(), "rekey-dashboard-")), "dashboard.png");
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  console.log(`dashboard screenshot: ${shot}`);

  assert.deepEqual(pageErrors, []);
  assert.ok(requested.length > 3);
  for (const u of requested)
    assert.ok(!u.includes(TOKEN), `the token never goes into a URL the browser requests: ${u}`);
  await page.close();
});
