import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { RekeyError } from "../../errors.js";
import { keeperStateId } from "./local-state.js";
import { keeperStateDir } from "./state-dir.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const config = { clientId: "client-of-the-state-dir-test" };
const id = keeperStateId(config);
const uid = process.getuid?.() ?? 0;

/** A temp dir, and a HOME under a regular file in it: mkdir fails with ENOTDIR even as root. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), "rekey-state-dir-"));
  dirs.push(dir);
  writeFileSync(join(dir, "a-file"), "");
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  return { dir, tmp, badHome: join(dir, "a-file", "home") };
}

function run(env: NodeJS.ProcessEnv) {
  const notices: string[] = [];
  const got = keeperStateDir(config, { env, notice: (m) => notices.push(m) });
  return { got, notices };
}

describe("keeperStateDir", () => {
  test("the usual $REKEY_HOME/keeper/<id> when it can be created, silently", () => {
    const { dir } = setup();
    const { got, notices } = run({ REKEY_HOME: join(dir, "rk") });
    assert.equal(got, join(dir, "rk", "keeper", id));
    assert.equal(statSync(got).mode & 0o777, 0o700);
    assert.deepEqual(notices, []);
  });

  test("REKEY_KEEPER_STATE is used as it is", () => {
    const { dir, badHome } = setup();
    const { got, notices } = run({ HOME: badHome, REKEY_KEEPER_STATE: join(dir, "explicit") });
    assert.equal(got, join(dir, "explicit"));
    assert.deepEqual(notices, []);
  });

  test("home not creatable: $XDG_STATE_HOME/rekey/keeper/<id>, said", () => {
    const { dir, tmp, badHome } = setup();
    const { got, notices } = run({ HOME: badHome, XDG_STATE_HOME: join(dir, "xdg"), TMPDIR: tmp });
    assert.equal(got, join(dir, "xdg", "rekey", "keeper", id));
    assert.equal(statSync(got).mode & 0o777, 0o700);
    assert.equal(notices.length, 1);
    assert.ok(notices[0]?.includes(join(badHome, ".rekey", "keeper", id)), "names the usual directory");
    assert.ok(notices[0]?.includes(got) && notices[0].includes("ENOTDIR"), "names the one used and why");
  });

  test("home not creatable, no XDG_STATE_HOME: <tmp>/rekey-keeper-<uid>/<id>, private, said", () => {
    const { tmp, badHome } = setup();
    const { got, notices } = run({ HOME: badHome, TMPDIR: tmp });
    assert.equal(got, join(tmp, `rekey-keeper-${uid}`, id));
    assert.equal(statSync(join(tmp, `rekey-keeper-${uid}`)).mode & 0o777, 0o700);
    assert.equal(statSync(got).mode & 0o777, 0o700);
    assert.match(notices[0] ?? "", /may not survive a reboot.*REKEY_KEEPER_STATE/);
    // Again: the existing private parent is ours and is reused.
    assert.equal(run({ HOME: badHome, TMPDIR: tmp }).got, got);
  });

  test("an unusable XDG_STATE_HOME falls through to the temp dir", () => {
    const { dir, tmp, badHome } = setup();
    const { got } = run({ HOME: badHome, XDG_STATE_HOME: join(dir, "a-file", "xdg"), TMPDIR: tmp });
    assert.equal(got, join(tmp, `rekey-keeper-${uid}`, id));
  });

  const refusals: Array<[string, (parent: string) => void, RegExp]> = [
    [
      "open to others (mode 755)",
      (p) => {
        mkdirSync(p);
        chmodSync(p, 0o755);
      },
      /mode is 755/,
    ],
    ["a symlink", (p) => symlinkSync("/", p), /not a directory/],
    ["a file", (p) => writeFileSync(p, ""), /not a directory/],
  ];
  for (const [name, make, why] of refusals) {
    test(`a temp parent that is ${name} is refused, with every place tried`, () => {
      const { tmp, badHome } = setup();
      make(join(tmp, `rekey-keeper-${uid}`));
      assert.throws(
        () => run({ HOME: badHome, TMPDIR: tmp }),
        (e) =>
          e instanceof RekeyError &&
          why.test(e.message) &&
          e.message.includes(join(badHome, ".rekey", "keeper", id)) &&
          e.message.includes(join(tmp, `rekey-keeper-${uid}`)) &&
          /REKEY_KEEPER_STATE/.test(e.hint ?? ""),
      );
    });
  }

  test("a temp parent owned by someone else is refused", () => {
    const { tmp, badHome } = setup();
    mkdirSync(join(tmp, `rekey-keeper-${uid + 1}`), { mode: 0o700 });
    assert.throws(
      () => keeperStateDir(config, { env: { HOME: badHome, TMPDIR: tmp }, uid: uid + 1, notice: () => {} }),
      (e) => e instanceof RekeyError && /belongs to uid/.test(e.message),
    );
  });
});
