/** The store contract (testing/store-contract.ts) on the local SQLite vault, through the async port. */
import Database from "better-sqlite3";
import { runStoreContract } from "../../testing/store-contract.js";
import { tempVault, vaultBytes } from "../../testing/vault.js";
import { toAsyncStore } from "./async-adapter.js";
import { openVault } from "./sqlite-open.js";

runStoreContract("sqlite", {
  async newVault() {
    const v = await tempVault();
    return {
      store: toAsyncStore(v.store),
      open: async () => toAsyncStore(await openVault(v.path, { keyFile: v.keyFile })),
      async tamperAudit(seq) {
        const db = new Database(v.path);
        try {
          db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = ?").run(seq);
        } finally {
          db.close();
        }
      },
      atRest: async () => vaultBytes(v.path).toString("latin1"),
      cleanup: async () => v.cleanup(),
    };
  },
});
