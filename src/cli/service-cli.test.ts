import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { rekeyAsync } from "../testing/cli.js";

test("service install prints the unit; --write writes 0644 files, leaves identical ones, refuses different ones", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rekey-service-"));
  const printed = await rekeyAsync(["service", "install", "--user", "gw"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^# file: \/etc\/systemd\/system\/rekey-gateway.service$/m);
  assert.match(printed.stdout, /^User=gw$/m);

  const w = await rekeyAsync(["service", "install", "--timer", "--write", "--dir", dir]);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /next: systemctl daemon-reload && systemctl enable --now rekey-gateway-once.timer/);
  for (const name of ["rekey-gateway-once.service", "rekey-gateway-once.timer"])
    assert.equal(statSync(join(dir, name)).mode & 0o777, 0o644, name);

  const again = await rekeyAsync(["service", "install", "--timer", "--write", "--dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /unchanged .*rekey-gateway-once.timer/);

  const path = join(dir, "rekey-gateway-once.service");
  writeFileSync(path, "# edited by hand\n");
  const refused = await rekeyAsync(["service", "install", "--timer", "--write", "--dir", dir]);
  assert.equal(refused.code, 4);
  assert.match(refused.stderr, /already exists and says something else/);
  assert.equal(readFileSync(path, "utf8"), "# edited by hand\n", "not overwritten");

  const noWrite = await rekeyAsync(["service", "install", "--dir", dir]);
  assert.equal(noWrite.code, 2);
  const root = await rekeyAsync(["service", "install", "--user", "root"]);
  assert.equal(root.code, 2);
});
