import assert from "node:assert/strict";
import { chmodSync, copyFileSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { testHooksFile } from "../testing/checkpoint.js";
import { TEST_HOOKS_MAGIC, testHooksEnabled } from "./checkpoint.js";

test("the crash hook's test switch: only a 0600 file of ours holding the magic line turns it on", () => {
  const dir = mkdtempSync(join(tmpdir(), "rekey-switch-"));
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: testHooksFile() }), true);
  assert.equal(testHooksEnabled({}), false);
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: "1" }), false);
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: join(dir, "missing") }), false);
  const loose = join(dir, "loose");
  copyFileSync(testHooksFile(), loose);
  chmodSync(loose, 0o644);
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: loose }), false, "readable by others");
  const wrong = join(dir, "wrong");
  writeFileSync(wrong, TEST_HOOKS_MAGIC.toUpperCase(), { mode: 0o600 });
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: wrong }), false, "other words");
  const link = join(dir, "link");
  symlinkSync(testHooksFile(), link);
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: link }), false, "a symlink");
  assert.equal(testHooksEnabled({ REKEY_TEST_HOOKS: dir }), false, "a directory");
});
