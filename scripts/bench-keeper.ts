// A fake Keeper over HTTPS for scripts/bench.mjs (run under tsx in its own process, so that the script being
// timed talks to a server that does not share its CPU). It reads one JSON line on stdin:
//   {"dir": DIR, "userName": NAME, "currentKey": {"id", "secret"}, "admin": {"accessKeyId", "secretAccessKey"}}
// seeds the seed document's setup (PAM configuration holding `admin`, PAM User record holding `currentKey`),
// writes a KSM config into DIR, prints {"configFile", "caFile", "line"} as one JSON line, then serves until
// its stdin closes. The printed line carries test secrets of the sandbox only.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  FakeKeeper,
  gatewayLineFor,
  seedAwsRotation,
  serveFakeKeeperHttps,
} from "../src/testing/fake-keeper/index.js";

const rl = createInterface({ input: process.stdin });
const first: string = await new Promise((resolve) => rl.once("line", resolve));
const input = JSON.parse(first) as {
  dir: string;
  userName: string;
  currentKey: { id: string; secret: string };
  admin: { accessKeyId: string; secretAccessKey: string };
};

const fake = new FakeKeeper();
const served = await serveFakeKeeperHttps(fake);
const seeded = seedAwsRotation(fake, {
  userName: input.userName,
  currentKey: input.currentKey,
  configAdmin: input.admin,
});
const configFile = join(input.dir, "gateway-config.json");
writeFileSync(configFile, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
process.stdout.write(
  `${JSON.stringify({ configFile, caFile: served.caFile, line: gatewayLineFor(fake, seeded) })}\n`,
);
rl.on("close", async () => {
  await served.close();
  process.exit(0);
});
