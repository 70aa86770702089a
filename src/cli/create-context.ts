import type { AsyncVaultStore } from "../vault/async-store.js";
import type { CommandContext } from "./context.js";

export interface ClosableContext extends CommandContext {
  close(): Promise<void>;
}

export function createContext(actor: string, env: NodeJS.ProcessEnv = process.env): ClosableContext {
  let opening: Promise<AsyncVaultStore> | undefined;
  let opened: AsyncVaultStore | undefined;
  let stdinText: Promise<string> | undefined;
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    env,
    actor,
    interactive,
    stdoutIsTerminal: process.stdout.isTTY === true,
    stderrIsTerminal: process.stderr.isTTY === true,
    exitCode: 0,
    stdout: { write: (t) => void process.stdout.write(t), drain: () => drained(process.stdout) },
    stderr: { write: (t) => void process.stderr.write(t) },
    asyncVault(opts = {}): Promise<AsyncVaultStore> {
      opening ??= import("../stores/open.js").then(async ({ openDefaultAsyncVault }) => {
        opened = await openDefaultAsyncVault({ env, interactive, ...opts });
        return opened;
      });
      return opening;
    },
    readStdin() {
      stdinText ??= (async () => {
        if (process.stdin.isTTY) return "";
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        return Buffer.concat(chunks).toString("utf8");
      })();
      return stdinText;
    },
    async close() {
      await opened?.close();
    },
  };
}

/** Resolves at once when `stream` has room, else at its next 'drain' (or when it closes or fails). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      stream.off("error", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}
