/**
 * `rekey service install`: a hardened systemd unit for `rekey gateway` (or, with --timer, a oneshot
 * `rekey gateway --once` and its timer), printed, or written with --write under /etc/systemd/system (or
 * --dir). ExecStart names node and rekey by absolute path, as this process was started (aws-profile add
 * finds them the same way), so the unit runs this very installation.
 *
 * --write never replaces a unit file that says something else: a file with the same text is left as it is
 * (running the command twice is harmless); a different one is refused (exit 4) with the way to compare.
 */
import { existsSync, statSync } from "node:fs";
import { chmod, open, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { conflict, notFound, usageError } from "../../errors.js";
import { line } from "../context.js";
import type { CommandRun } from "../registry.js";
import { selfInvocation } from "../self-invocation.js";
import { checkUserName, DEFAULT_KEY_FILE, type UnitFile, unitFiles } from "../service-units.js";

const DEFAULT_DIR = "/etc/systemd/system";

/** "written" or "unchanged"; a different existing file is refused. Mode 0644: units are not secret. */
async function writeUnit(path: string, text: string): Promise<"written" | "unchanged"> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if ((await readFile(path, "utf8")) === text) return "unchanged";
    throw conflict(
      `${path} already exists and says something else; not overwriting it`,
      `compare it with \`rekey service install ... | diff ${path} -\`, then remove or rename it and run again`,
    );
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, 0o644); // the umask may have narrowed it; systemd reads units as any user
  return "written";
}

export const run: CommandRun = async (ctx, _args, opts) => {
  const user = checkUserName(typeof opts.user === "string" ? opts.user : "rekey");
  const write = opts.write === true;
  const dirOpt = typeof opts.dir === "string" ? opts.dir : undefined;
  if (dirOpt !== undefined && !write)
    throw usageError("--dir applies to --write", "add --write, or drop --dir to print the units");
  const configFile = typeof opts.config === "string" ? resolve(opts.config) : undefined;
  if (configFile !== undefined && !existsSync(configFile))
    line(
      ctx.stderr,
      `rekey: warning: ${configFile} does not exist yet; the gateway will not start without it`,
    );
  const keyFile = ctx.env.REKEY_KEY_FILE ? resolve(ctx.env.REKEY_KEY_FILE) : DEFAULT_KEY_FILE;
  const { files, enable } = unitFiles(
    { user, ...selfInvocation(), configFile, keyFile },
    opts.timer === true,
  );
  const dir = resolve(dirOpt ?? DEFAULT_DIR);

  if (!write) {
    ctx.stdout.write(files.map((f: UnitFile) => `# file: ${join(dir, f.name)}\n${f.text}`).join("\n"));
    return;
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw notFound(
      `${dir} is not a directory`,
      "give --dir an existing directory (default /etc/systemd/system)",
    );
  for (const f of files) {
    const path = join(dir, f.name);
    const outcome = await writeUnit(path, f.text);
    line(ctx.stdout, `${outcome === "written" ? "wrote" : "unchanged"} ${path}`);
  }
  line(
    ctx.stdout,
    `the vault's key file goes to ${keyFile} (mode 0600, owner root), the vault to /var/lib/rekey (owner ${user})`,
  );
  line(ctx.stdout, `next: systemctl daemon-reload && systemctl enable --now ${enable}`);
};
