import { usageError } from "../../errors.js";
import { completionTree } from "../completion.js";
import { bashScript } from "../completion-bash.js";
import { zshScript } from "../completion-zsh.js";
import type { CommandRun } from "../registry.js";
import { COMMANDS } from "../registry.js";

/** One renderer per shell; the shell names complete `rekey completion <TAB>` too. */
const RENDERERS = { bash: bashScript, zsh: zshScript } as const;
type Shell = keyof typeof RENDERERS;
const SHELLS = Object.keys(RENDERERS) as Shell[];

const isShell = (s: string): s is Shell => (SHELLS as string[]).includes(s);

/** Print the completion script for the shell, generated from the command registry (never stale). */
export const run: CommandRun = async (ctx, [shell]) => {
  if (!shell || !isShell(shell)) {
    throw usageError(
      `no completion for the shell "${shell ?? ""}": rekey completes ${SHELLS.join(" and ")}`,
      "bash: source <(rekey completion bash) in ~/.bashrc; zsh: source <(rekey completion zsh) in ~/.zshrc",
    );
  }
  ctx.stdout.write(RENDERERS[shell](completionTree(COMMANDS, { shell: SHELLS })));
};
