/**
 * The fake Keeper over real HTTPS on loopback, for a child process (the bundle the Gateway runs) using the SDK's
 * own HTTP path. Here the fake is a server like Keeper's: it holds a P-256 key pair, recovers each request's
 * transmission key from the `TransmissionKey` header (ECDH with the ephemeral key, AES-GCM), checks
 * `PublicKeyId`, and verifies the `Authorization: Signature ...` header.
 *
 * It also serves the download URLs of file attachments (`GET /files/<fileUid>`, see FakeKeeper.addFile): the
 * stored bytes (content AES-GCM under the file key), no authentication, as a pre-signed storage URL is. The
 * SDK's `downloadFile` fetches them with a plain HTTPS GET even when its Keeper requests go through an
 * in-process `queryFunction`, so a test with attachments starts this server in either mode.
 *
 * The client needs: NODE_EXTRA_CA_CERTS=<caFile> (read at process start: a child process), or, in-process,
 * the SDK's `setCustomProxyAgent(new https.Agent({ ca: tls.caPem }))`, the agent its HTTPS GETs use, and a KSM config whose `hostname` is this server's
 * `127.0.0.1:<port>` and whose `serverPublicKey`/`serverPublicKeyId` are the fake's
 * (`fake.createClientConfig()` does both once the server is started).
 *
 * @example
 * const served = await serveFakeKeeperHttps(fake);
 * writeFileSync(configPath, JSON.stringify(fake.createClientConfig()));
 * spawn("node", [bundle], { env: { ...process.env, NODE_EXTRA_CA_CERTS: served.caFile, KSM_CONFIG_FILE: configPath } });
 * await served.close();
 */
import { Agent, createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { setCustomProxyAgent } from "@keeper-security/secrets-manager-core";
import { endpointOf } from "./protocol.js";
import type { FakeKeeper } from "./state.js";
import { makeTestTls, type TestTls } from "./tls.js";
import { eciesDecrypt, fromB64 } from "./wire-crypto.js";

export interface ServedFakeKeeper {
  /** `127.0.0.1:<port>`, also set as `fake.hostname`. */
  hostname: string;
  url: string;
  caFile: string;
  tls: TestTls;
  server: Server;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

export async function serveFakeKeeperHttps(
  fake: FakeKeeper,
  opts: { tls?: TestTls; port?: number } = {},
): Promise<ServedFakeKeeper> {
  const tls = opts.tls ?? makeTestTls();
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      const answer = (statusCode: number, body: Record<string, unknown>) => {
        res.writeHead(statusCode, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      const download = /^\/files\/([A-Za-z0-9_-]{22})$/.exec(req.url ?? "");
      if (req.method === "GET" && download?.[1]) {
        const found = fake.fileByUid(download[1]);
        if (!found) {
          res.writeHead(404, { "content-type": "text/plain" });
          return res.end("no such file");
        }
        fake.downloads.push(found.file.uid);
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end(found.file.encrypted);
      }
      if (req.method !== "POST") return answer(405, { error: "method_not_allowed", message: "POST only" });
      let endpoint: string;
      try {
        endpoint = endpointOf(`https://${fake.hostname}${req.url ?? "/"}`);
      } catch {
        return answer(404, { error: "not_found", message: `no such path ${req.url}` });
      }
      const keyIdHeader = Number(req.headers.publickeyid);
      if (keyIdHeader !== fake.server.keyId) return answer(400, { error: "key", key_id: fake.server.keyId });
      const encryptedKey = fromB64(String(req.headers.transmissionkey ?? ""));
      let transmissionKey: Buffer;
      try {
        transmissionKey = eciesDecrypt(fake.server.keys.privateRaw, encryptedKey);
      } catch {
        return answer(400, { error: "key", key_id: fake.server.keyId });
      }
      const auth = /^Signature (.+)$/.exec(String(req.headers.authorization ?? ""));
      if (!auth?.[1]) return answer(401, { error: "access_denied", message: "missing request signature" });
      const out = fake.handle({
        endpoint,
        transmissionKey,
        encryptedKey,
        body: Buffer.concat(chunks),
        signature: fromB64(auth[1]),
        publicKeyId: keyIdHeader,
      });
      res.writeHead(out.statusCode, out.headers as Record<string, string>);
      res.end(Buffer.from(out.data));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostname = `127.0.0.1:${port}`;
  fake.hostname = hostname;
  return {
    hostname,
    url: `https://${hostname}`,
    caFile: tls.caFile,
    tls,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          if (!opts.tls) tls.cleanup();
          resolve();
        });
      }),
  };
}

/**
 * `serveFakeKeeperHttps`, with the KSM SDK of this process trusting the test CA (NODE_EXTRA_CA_CERTS is
 * read only at process start; the SDK's agent hook carries the CA instead), both undone when the test ends.
 * For in-process tests of the SDK's own HTTPS transport and of `downloadFile` (a plain HTTPS GET).
 */
export async function serveFakeKeeperTrusted(
  t: { after(fn: () => Promise<void>): void },
  fake: FakeKeeper,
): Promise<ServedFakeKeeper> {
  const served = await serveFakeKeeperHttps(fake);
  setCustomProxyAgent(new Agent({ ca: served.tls.caPem }));
  t.after(async () => {
    setCustomProxyAgent(undefined as unknown as Agent);
    await served.close();
  });
  return served;
}
