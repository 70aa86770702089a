import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findCommand } from "./command-lookup.js";

test("findCommand: on PATH, by path, or not at all", () => {
  assert.equal(findCommand("node", process.env.PATH)?.endsWith("/node"), true);
  assert.equal(findCommand("node --no-warnings", process.env.PATH)?.endsWith("/node"), true);
  assert.equal(findCommand(process.execPath, ""), process.execPath);
  assert.equal(findCommand("no-such-interpreter-3141", process.env.PATH), undefined);
  assert.equal(findCommand("node", ""), undefined, "nothing on an empty PATH");
  const dir = mkdtempSync(join(tmpdir(), "rekey-cmd-"));
  try {
    writeFileSync(join(dir, "plain"), "#!/bin/sh\n", { mode: 0o644 });
    assert.equal(findCommand(join(dir, "plain"), process.env.PATH), undefined, "not executable");
    assert.equal(findCommand("plain", dir), undefined, "not executable on PATH either");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(findCommand("", process.env.PATH), undefined);
});
