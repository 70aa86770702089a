/**
 * GET / : the dashboard, one page served by this module (no CDN: works offline). The page holds no data;
 * its script asks the API with the bearer token, which the user types once or passes in the URL fragment
 * (`/#token=…`: a fragment never reaches the server or its logs). The script keeps it in sessionStorage
 * and removes it from the address bar. Every value from the vault is put in the page as text
 * (textContent, never innerHTML): titles and user names are user data.
 */
import type { ApiDeps, App } from "./app.js";
import { DASHBOARD_JS } from "./dashboard-script.js";
import { DASHBOARD_CSS } from "./dashboard-style.js";

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rekey</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header><h1>rekey</h1><span id="summary"></span><button id="logout" type="button" hidden>Forget token</button></header>
<main>
<form id="login" hidden>
  <label for="token-input">API token</label>
  <input id="token-input" type="password" autocomplete="off" required>
  <button type="submit">Open</button>
  <p id="login-error" class="error" role="alert"></p>
</form>
<section id="app" hidden>
  <p id="message" role="status"></p>
  <figure id="chart-box"><figcaption>Key ages across the fleet (days)</figcaption><div id="chart"></div></figure>
  <table id="records">
    <thead><tr><th>User</th><th>Key id</th><th>Key age</th><th>Schedule</th><th>Next rotation</th><th>Last outcome</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
  <section id="detail" hidden>
    <h2 id="detail-title"></h2>
    <h3>Rotation history</h3>
    <table id="attempts"><thead><tr><th>Started</th><th>Trigger</th><th>Outcome</th><th>New key</th><th>Error</th></tr></thead><tbody></tbody></table>
    <h3>Audit trail</h3>
    <table id="audit"><thead><tr><th>At</th><th>Action</th><th>Actor</th></tr></thead><tbody></tbody></table>
  </section>
</section>
<dialog id="confirm">
  <form method="dialog">
    <p id="confirm-text"></p>
    <menu><button value="cancel" id="confirm-cancel">Cancel</button><button value="rotate" id="confirm-rotate" class="danger">Rotate now</button></menu>
  </form>
</dialog>
</main>
</body>
</html>
`;

export function dashboardRoutes(app: App, _deps: ApiDeps): void {
  app.get("/", (c) => c.html(DASHBOARD_HTML));
  app.get("/assets/dashboard.js", (c) =>
    c.body(DASHBOARD_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );
  app.get("/assets/dashboard.css", (c) =>
    c.body(DASHBOARD_CSS, 200, { "Content-Type": "text/css; charset=utf-8" }),
  );
  app.get("/favicon.ico", (c) => c.body(null, 204));
}
