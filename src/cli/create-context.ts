import type { AsyncVaultStore } from "../vault/async-store.js";
import type { VaultStore } from "../vault/store.js";
import type { CommandContext } from "./context.js";

export interface ClosableContext extends CommandContext {
  close(): Promise<void>;
}

export function createContext(actor: string, env: NodeJS.ProcessEnv = process.env): ClosableContext {
  let store: VaultStore | undefined;
  let opening: Promise<VaultStore> | undefined;
  let asyncOpening: Promise<AsyncVaultStore> | undefined;
  let remote: AsyncVaultStore | undefined;
  let stdinText: Promise<string> | undefined;
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const vault = (): Promise<VaultStore> => {
    if (!opening) {
      opening = import("../stores/open.js").then(async ({ openDefaultVault }) => {
        const s: VaultStore = await openDefaultVault({ env, interactive });
        store = s;
        return s;
      });
    }
    return opening;
  };
  return {
    env,
    actor,
    interactive,
    stdoutIsTerminal: process.stdout.isTTY === true,
    stderrIsTerminal: process.stderr.isTTY === true,
    exitCode: 0,
    stdout: { write: (t) => void process.stdout.write(t) },
    stderr: { write: (t) => void process.stderr.write(t) },
    vault,
    asyncVault(): Promise<AsyncVaultStore> {
      asyncOpening ??= import("../stores/open.js").then(
        async ({ openDefaultAsyncVault, resolveVaultLocation }) => {
          if (resolveVaultLocation(env).backend === "keeper") {
            remote = await openDefaultAsyncVault({ env, interactive });
            return remote;
          }
          // The local vault: the same store vault() gives (one handle, closed once).
          const { asyncVaultStore } = await import("../vault/async-store.js");
          return asyncVaultStore(await vault());
        },
      );
      return asyncOpening;
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
      store?.close();
      await remote?.close();
    },
  };
}
