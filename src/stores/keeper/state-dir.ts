/**
 * Which directory holds the Keeper local state (local-state.ts): journal, locks, audit log, history.
 *
 * 1. `REKEY_KEEPER_STATE`, when set: used as it is (a failure to create it is an error).
 * 2. `$REKEY_HOME/keeper/<id>` (REKEY_HOME defaults to ~/.rekey), when it can be created and written.
 * 3. Otherwise (a service user whose home is missing or read-only, a read-only container): a private
 *    directory elsewhere, said on stderr: `$XDG_STATE_HOME/rekey/keeper/<id>` when XDG_STATE_HOME is set,
 *    else `<system temp dir>/rekey-keeper-<uid>/<id>`. The temp parent is shared ground: it is created 0700
 *    and refused if it exists as anything but a directory of ours that no one else can enter.
 *
 * A missing home alone never stops a rotation before Keeper or AWS is touched: the journal only has to outlive
 * the run that wrote it long enough for the next run to finish an interrupted rotation.
 */
import { accessSync, constants, lstatSync, mkdirSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { RekeyError } from "../../errors.js";
import type { KsmConfigJson } from "./ksm-config.js";
import { defaultKeeperStateDir, keeperStateId } from "./local-state.js";

export interface KeeperStateDirOptions {
  env?: NodeJS.ProcessEnv;
  /** Told which directory is used when it is not the usual one (default: a line on stderr). */
  notice?: (message: string) => void;
  /** Tests: the user id the temp parent must belong to (default process.getuid()). */
  uid?: number;
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/** Create `dir` (mode 0700, parents too) and check it can be written; the error code if not. */
function usable(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    return errCode(err);
  }
}

/** `<tmp>/rekey-keeper-<uid>`: created 0700, or an existing one that is ours and private; else why not. */
function privateTempParent(
  env: NodeJS.ProcessEnv,
  uid: number | undefined,
): { dir: string; problem?: string } {
  const owner = uid ?? process.getuid?.();
  const dir = join(env.TMPDIR || tmpdir(), `rekey-keeper-${owner ?? userInfo().username}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if (errCode(err) !== "EEXIST") return { dir, problem: errCode(err) };
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) return { dir, problem: "it exists and is not a directory" };
  // Windows has no uid and no mode bits worth checking.
  if (owner !== undefined && st.uid !== owner)
    return { dir, problem: `it belongs to uid ${st.uid}, not ${owner}` };
  if (owner !== undefined && (st.mode & 0o077) !== 0) {
    return { dir, problem: `its mode is ${(st.mode & 0o777).toString(8)}, not 700` };
  }
  return { dir };
}

/**
 * The state directory of the KSM client of `config`, created and writable, per the order above.
 *
 * @example
 * const dir = keeperStateDir(loaded.config, { env: process.env });
 */
export function keeperStateDir(
  config: Pick<KsmConfigJson, "clientId">,
  opts: KeeperStateDirOptions = {},
): string {
  const env = opts.env ?? process.env;
  const usual = defaultKeeperStateDir(config, env);
  if (env.REKEY_KEEPER_STATE) return usual;
  const id = keeperStateId(config);
  const why = usable(usual);
  if (why === undefined) return usual;

  const tried = [`${usual} (${why})`];
  const say = opts.notice ?? ((m: string) => process.stderr.write(`rekey: ${m}\n`));
  const use = (dir: string, lasting: boolean) => {
    say(
      `the state directory ${usual} cannot be created (${why}); using ${dir} instead.` +
        (lasting ? "" : " It may not survive a reboot:") +
        " set REKEY_KEEPER_STATE to a directory kept across runs (its journal lets the next run finish an interrupted rotation)",
    );
    return dir;
  };
  if (env.XDG_STATE_HOME) {
    const dir = resolve(env.XDG_STATE_HOME, "rekey", "keeper", id);
    const problem = usable(dir);
    if (problem === undefined) return use(dir, true);
    tried.push(`${dir} (${problem})`);
  }
  const parent = privateTempParent(env, opts.uid);
  if (parent.problem === undefined) {
    const dir = join(parent.dir, id);
    const problem = usable(dir);
    if (problem === undefined) return use(dir, false);
    tried.push(`${dir} (${problem})`);
  } else {
    tried.push(`${parent.dir} (refused: ${parent.problem})`);
  }
  throw new RekeyError("usage", `no usable directory for rekey's Keeper state: tried ${tried.join(", ")}`, {
    hint: "set REKEY_KEEPER_STATE to a directory this user can write, kept across runs",
  });
}
