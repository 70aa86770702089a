/**
 * A loopback HTTP forward proxy for tests of the proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY): it
 * records where each request was going, so a test can tell "through the proxy" from "direct".
 */
import { createServer, request, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";

export interface TestProxy {
  url: string;
  /** `host:port` of each CONNECT (https through the proxy). */
  tunnels: string[];
  /** `host:port` of each plain http request forwarded. */
  forwarded: string[];
  close(): Promise<void>;
}

/** A loopback HTTP proxy: CONNECT tunnels (sockets piped) and plain http forwarding, recording the targets. */
export async function startTestProxy(): Promise<TestProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url ?? "");
    forwarded.push(target.host);
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.on("connect", (req, client, head) => {
    const target = req.url ?? "";
    tunnels.push(target);
    const at = target.lastIndexOf(":");
    const up = connect(Number(target.slice(at + 1)), target.slice(0, at), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on("error", () => client.destroy());
    client.on("error", () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    forwarded,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
