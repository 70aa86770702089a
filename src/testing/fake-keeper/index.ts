/**
 * A fake Keeper Secrets Manager server for tests (keeper-protocol.md §5): the real SDK talks to it either
 * in-process (`fake.queryFunction`) or over HTTPS on loopback (`serveFakeKeeperHttps`) for child processes.
 */
export { type ServedFakeKeeper, serveFakeKeeperHttps, serveFakeKeeperTrusted } from "./https-server.js";
export { endpointOf, FakeKeeperError, type WireRequest } from "./protocol.js";
export {
  type AdminShape,
  adminRecord,
  gatewayLineFor,
  pamAwsConfiguration,
  pamUserForSeed,
  type SeedAwsRotationOptions,
  type SeededAwsRotation,
  seedAwsRotation,
} from "./seed.js";
export {
  type FakeClient,
  type FakeFile,
  type FakeFolder,
  FakeKeeper,
  type FakeKeeperOptions,
  type FakeRecord,
  type PendingTransaction,
  type RecordData,
  type RequestLogEntry,
} from "./state.js";
export { makeTestTls, type TestTls } from "./tls.js";
