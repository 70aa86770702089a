/** Moved: the async vault port is src/vault/async-store.ts. Kept so imports of the old path still work. */
export {
  type AsyncVaultStore,
  asyncVaultStore,
  type CommitResult,
  commitSync,
  isAsyncVaultStore,
  toAsyncStore,
  type WriteOp,
} from "../vault/async-store.js";
