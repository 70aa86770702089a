import { line } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const { initDefaultVault } = await import("../../stores/open.js");
  const { path, keyFile, keyFileCreated } = await initDefaultVault({
    env: ctx.env,
    interactive: ctx.interactive,
    keyFile: opts.keyFile as string | undefined,
    useExistingKeyFile: opts.useExistingKeyFile === true,
    passphrase: opts.passphrase !== false,
  });
  line(ctx.stdout, `created vault ${path}`);
  if (keyFile)
    line(
      ctx.stdout,
      `key file ${keyFile} (${keyFileCreated ? "created, mode 0600" : "existing, used as asked"}): ` +
        `set REKEY_KEY_FILE=${keyFile} to unlock without the passphrase`,
    );
};
