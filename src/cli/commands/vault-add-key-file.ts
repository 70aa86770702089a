import { usageError } from "../../errors.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

/** What the local vault offers for this (a Keeper vault has no key slots). */
interface KeySlots {
  addKeyFileSlot(
    keyFile: string,
    opts: { actor: string },
  ): { keyFile: string; created: boolean; added: boolean };
}

export const run: CommandRun = async (ctx, args, opts) => {
  const path = args[0] as string;
  const store = await ctx.vault();
  if (typeof (store as Partial<KeySlots>).addKeyFileSlot !== "function") {
    throw usageError(`${store.description} has no key slots`, "key files unlock rekey's local vault only");
  }
  const r = (store as unknown as KeySlots).addKeyFileSlot(path, { actor: ctx.actor });
  if (opts.json) return printJson(ctx.stdout, r);
  if (!r.added) return line(ctx.stdout, `key file ${r.keyFile} already unlocks the vault: nothing changed`);
  line(
    ctx.stdout,
    `key file ${r.keyFile}${r.created ? " created (mode 0600)" : ""} now unlocks the vault: ` +
      `set REKEY_KEY_FILE=${r.keyFile} (the passphrase keeps working)`,
  );
};
