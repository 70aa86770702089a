/**
 * What a backend can do, and the one place a command is refused for what its backend cannot do: each store
 * declares its capabilities (vault/async-store.ts StoreCapabilities), and `requireCapability` turns a
 * missing one into one clear error naming the command, the backend and what to do.
 */
import { RekeyError } from "../errors.js";
import type { AsyncVaultStore, Capability, StoreCapabilities, WriteOp } from "./async-store.js";

/** The methods a capability brings (a store with the flag set has them). */
interface CapabilityMethods {
  integrityHead: "head" | "checkIntegrity";
  localKeySlots: "addKeyFileSlot";
}
type MethodsOf<C extends Capability> = C extends keyof CapabilityMethods ? CapabilityMethods[C] : never;
export type WithCapability<C extends Capability> = AsyncVaultStore &
  Required<Pick<AsyncVaultStore, MethodsOf<C>>>;

/** A store's capabilities; a store that declares none has what its methods show, and everything else. */
export function capabilitiesOf(store: AsyncVaultStore): StoreCapabilities {
  return (
    store.capabilities ?? {
      recordHistory: true,
      integrityHead: typeof store.head === "function" && typeof store.checkIntegrity === "function",
      localKeySlots: typeof store.addKeyFileSlot === "function",
      createSharedFolders: true,
      recordsAtRoot: true,
      chosenRecordUids: true,
      atomicCommit: true,
    }
  );
}

/** What each capability is, and what to do without it: the wording of every capability refusal. */
const MISSING: Record<Capability, { needs: string; hint: string }> = {
  recordHistory: {
    needs: "the record's earlier versions",
    hint: "a Keeper vault shows a record's versions in Keeper itself (web vault or Commander: record history); rekey's local vault keeps them for rekey record history/restore",
  },
  integrityHead: {
    needs: "a signed head of the vault file (rollback detection)",
    hint: "the signed head belongs to rekey's local vault (unset REKEY_VAULT or REKEY_VAULT=sqlite:PATH); rekey audit verify without --expect-head/--head-file checks the audit log on any vault",
  },
  localKeySlots: {
    needs: "key slots (key files or passphrases that unlock the vault)",
    hint: "key files unlock rekey's local vault only; a Keeper vault is reached through its KSM config (REKEY_VAULT=keeper:PATH)",
  },
  createSharedFolders: {
    needs: "to create a shared folder",
    hint: "create the shared folder in the Keeper vault and share it with the KSM application; then create sub-folders in it with rekey folder add NAME --parent FOLDER",
  },
  recordsAtRoot: {
    needs: "a record outside any folder",
    hint: "give --folder FOLDER: a shared folder of the application or a folder in it (rekey folder list shows them)",
  },
  chosenRecordUids: {
    needs: "new records with a UID of your choice",
    hint: "the backend assigns new records' UIDs: drop the $record_uid column (or import with --update to update existing records)",
  },
  atomicCommit: {
    needs: "all-or-nothing writes",
    hint: "use rekey's local vault for this command",
  },
};

/**
 * Refuse `command` when the store lacks `capability`: a usage error (exit 2) naming the backend, what is
 * missing and what to do. After it, the capability's methods are known to exist.
 *
 * @example
 * requireCapability(store, "integrityHead", "rekey audit head");
 * const head = await store.head();
 */
export function requireCapability<C extends Capability>(
  store: AsyncVaultStore,
  capability: C,
  command: string,
): asserts store is WithCapability<C> {
  if (capabilitiesOf(store)[capability]) return;
  const m = MISSING[capability];
  throw new RekeyError("usage", `${command} needs ${m.needs}, which ${store.description} does not have`, {
    hint: m.hint,
    details: { capability },
  });
}

/**
 * requireCapability for each capability `ops` need: a createRecord with a chosen UID or outside any folder, a
 * new shared (top-level) folder. Call it before committing ops built from user input (an import file).
 */
export function requireCapabilitiesFor(
  store: AsyncVaultStore,
  ops: readonly WriteOp[],
  command: string,
): void {
  for (const o of ops) {
    if (o.op === "createRecord") {
      if (o.uid) requireCapability(store, "chosenRecordUids", command);
      if (o.folderUid === undefined || o.folderUid === null)
        requireCapability(store, "recordsAtRoot", command);
    } else if (o.op === "createFolder" && (o.shared || o.parentUid === undefined || o.parentUid === null)) {
      requireCapability(store, "createSharedFolders", command);
    }
  }
}
