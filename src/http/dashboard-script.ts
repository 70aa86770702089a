/**
 * The dashboard's script (served at /assets/dashboard.js). Plain browser JavaScript, no library. Vault
 * data goes into the page only through textContent and attributes set as data, never as HTML.
 */
export const DASHBOARD_JS = `"use strict";
(function () {
  var KEY = "rekey.apiToken";
  var state = { records: [], limit: 90, selected: null, pending: null, timer: null };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function token() { return sessionStorage.getItem(KEY); }

  // A token in the fragment (#token=...) is kept for this tab and removed from the address bar at once.
  function takeFragmentToken() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return;
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function api(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + token() } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 401) {
        sessionStorage.removeItem(KEY);
        showLogin("The token was refused.");
        throw new Error("unauthorized");
      }
      return res.json().then(function (data) {
        if (!res.ok) throw new Error((data && data.error && data.error.message) || res.statusText);
        return data;
      });
    });
  }

  function showLogin(error) {
    $("app").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = error || "";
    $("token-input").focus();
  }

  function showApp() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
  }

  function message(text, isError) {
    var m = $("message");
    m.textContent = text;
    m.className = isError ? "error" : "";
  }

  function ageText(iso) {
    if (!iso) return "";
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s >= 86400) return Math.floor(s / 86400) + "d";
    if (s >= 3600) return Math.floor(s / 3600) + "h";
    if (s >= 60) return Math.floor(s / 60) + "m";
    return s + "s";
  }

  function ageClass(days) {
    if (days === null || days === undefined) return "muted";
    if (days >= state.limit) return "age-over";
    if (days >= state.limit * 0.8) return "age-warn";
    return "age-ok";
  }

  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return d.toISOString().slice(0, 16).replace("T", " ") + "Z";
  }

  function nextText(iso) {
    if (!iso) return "on demand";
    return Date.parse(iso) <= Date.now() ? "due now" : when(iso);
  }

  function renderRecords() {
    var body = $("records").tBodies[0];
    body.replaceChildren();
    var failing = 0, over = 0;
    state.records.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.uid = r.uid;
      if (r.uid === state.selected) tr.className = "selected";
      var user = el("td");
      user.append(el("div", r.title), el("div", r.user, "muted mono"));
      tr.append(user);
      tr.append(el("td", r.keyId || "-", "mono key-id"));
      tr.append(el("td", r.keyCreatedAt ? ageText(r.keyCreatedAt) : "-", "key-age " + ageClass(r.keyAgeDays)));
      tr.append(el("td", r.schedule || "-"));
      tr.append(el("td", nextText(r.nextRotation)));
      var last = r.lastOutcome;
      var out = el("td", last ? last.outcome : "-", last ? "outcome-" + last.outcome : "muted");
      if (last && last.error) out.title = last.error;
      tr.append(out);
      var act = el("td");
      var btn = el("button", "Rotate now", "rotate");
      btn.type = "button";
      btn.addEventListener("click", function (ev) { ev.stopPropagation(); askRotate(r); });
      act.append(btn);
      tr.append(act);
      tr.addEventListener("click", function () { select(r.uid); });
      body.append(tr);
      if (r.attention === "failed" || r.attention === "held") failing++;
      if (r.keyAgeDays !== null && r.keyAgeDays >= state.limit) over++;
    });
    $("summary").textContent = state.records.length + " managed, " + failing + " failed or held, " + over + " past " + state.limit + " days";
    renderChart();
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A histogram of key ages: bucket edges in days, the last buckets past the age limit drawn red.
  function renderChart() {
    var L = state.limit;
    var edges = [0, Math.round(L / 3), Math.round((2 * L) / 3), L, 2 * L];
    var counts = [0, 0, 0, 0, 0];
    state.records.forEach(function (r) {
      if (r.keyAgeDays === null || r.keyAgeDays === undefined) return;
      var i = edges.length - 1;
      while (i > 0 && r.keyAgeDays < edges[i]) i--;
      counts[i]++;
    });
    var max = Math.max.apply(null, counts.concat([1]));
    var W = 600, H = 160, pad = 24, bw = (W - pad) / counts.length;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "key ages" });
    counts.forEach(function (n, i) {
      var h = ((H - 2 * pad) * n) / max;
      var x = pad + i * bw + 4;
      var label = i === counts.length - 1 ? ">= " + edges[i] : edges[i] + "-" + (edges[i + 1] - 1);
      root.append(svg("rect", { x: x, y: H - pad - h, width: bw - 8, height: h, class: edges[i] >= L ? "bar over" : "bar" }));
      root.append(svg("text", { x: x + (bw - 8) / 2, y: H - pad - h - 4, "text-anchor": "middle" }, String(n)));
      root.append(svg("text", { x: x + (bw - 8) / 2, y: H - 8, "text-anchor": "middle" }, label));
    });
    $("chart").replaceChildren(root);
  }

  function load() {
    if (!token()) return showLogin();
    return api("GET", "/api/v1/records").then(function (data) {
      state.records = data.records;
      state.limit = data.keyAgeLimitDays;
      showApp();
      renderRecords();
      if (state.selected) loadDetail(state.selected);
    }).catch(function (err) {
      if (err.message !== "unauthorized") message("Could not load the records: " + err.message, true);
    });
  }

  function select(uid) {
    state.selected = uid;
    renderRecords();
    loadDetail(uid);
  }

  function loadDetail(uid) {
    var r = state.records.find(function (x) { return x.uid === uid; });
    $("detail").hidden = false;
    $("detail-title").textContent = r ? r.title + " (" + r.user + ")" : uid;
    var q = "?record=" + encodeURIComponent(uid) + "&limit=20";
    api("GET", "/api/v1/attempts" + q).then(function (data) {
      var body = $("attempts").tBodies[0];
      body.replaceChildren();
      data.attempts.forEach(function (a) {
        var tr = document.createElement("tr");
        tr.append(el("td", when(a.startedAt)), el("td", a.trigger + (a.attempt > 1 ? " (retry " + (a.attempt - 1) + ")" : "")));
        tr.append(el("td", a.outcome, "outcome-" + a.outcome), el("td", a.keyIds.created || "", "mono"));
        tr.append(el("td", a.error ? a.error.message : a.heldReason || a.skippedReason || ""));
        body.append(tr);
      });
    }).catch(function (err) { message("Could not load the history: " + err.message, true); });
    api("GET", "/api/v1/audit" + q).then(function (data) {
      var body = $("audit").tBodies[0];
      body.replaceChildren();
      data.entries.forEach(function (e) {
        var tr = document.createElement("tr");
        tr.append(el("td", when(e.at)), el("td", e.action, "mono"), el("td", e.actor));
        body.append(tr);
      });
    }).catch(function (err) { message("Could not load the audit trail: " + err.message, true); });
  }

  function askRotate(r) {
    state.pending = r;
    $("confirm-text").textContent = "Rotate the access key of " + r.title + " (" + r.user + ") now? Applications get the new key through the record's scripts.";
    $("confirm").returnValue = "";
    $("confirm").showModal();
  }

  function rotate(r) {
    message("Queuing a rotation of " + r.title + "...");
    api("POST", "/api/v1/records/" + encodeURIComponent(r.uid) + "/rotate", {}).then(function (res) {
      message("Rotation of " + r.title + " queued" + (res.attemptId ? " (attempt " + res.attemptId + ")" : "") + ".");
      // The gateway works in the background: look again a few times.
      [0, 1000, 3000, 6000, 10000].forEach(function (ms) { setTimeout(load, ms); });
    }).catch(function (err) { if (err.message !== "unauthorized") message("Not queued: " + err.message, true); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    takeFragmentToken();
    $("login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(KEY, $("token-input").value.trim());
      $("token-input").value = "";
      load();
    });
    $("logout").addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      showLogin();
    });
    $("confirm").addEventListener("close", function () {
      var r = state.pending;
      state.pending = null;
      if (r && $("confirm").returnValue === "rotate") rotate(r);
    });
    load();
    state.timer = setInterval(function () { if (token()) load(); }, 15000);
  });
})();
`;
