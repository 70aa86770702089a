/**
 * HTTP(S) proxies for the AWS SDK and the KSM SDK. In Node neither SDK reads HTTPS_PROXY by itself (Python's
 * boto3 and requests do, so the seed's script followed the Gateway's proxy settings for free): each needs an
 * agent passed explicitly. This file builds that agent.
 *
 * Which proxy a request goes through, if any, is decided per request by `proxy-from-env` from the process
 * environment: HTTPS_PROXY for https URLs, HTTP_PROXY for http ones, ALL_PROXY for both, NO_PROXY for the
 * exceptions (each also lower case), exactly as that library reads them; loopback is not special-cased.
 * An https target is reached through a CONNECT tunnel (https-proxy-agent; TLS stays end to end, so
 * NODE_EXTRA_CA_CERTS still decides which servers are trusted), a plain http one as an absolute-URL request
 * to the proxy (http-proxy-agent). With no proxy variable set, nothing here is used: the SDKs keep their own
 * agents. The variables are read from `process.env` (as proxy-from-env does), not from an `env` a caller
 * passes around: a proxy is a property of the host, the same for every call this process makes.
 */
import * as http from "node:http";
import * as https from "node:https";
import { Agent, type AgentConnectOpts } from "agent-base";
import { HttpProxyAgent } from "http-proxy-agent";
import { HttpsProxyAgent } from "https-proxy-agent";
import { getProxyForUrl } from "proxy-from-env";

const PROXY_VARIABLES = ["https_proxy", "http_proxy", "all_proxy"] as const;

/** True when the environment names a proxy (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, either case). */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return PROXY_VARIABLES.some((v) => Boolean(env[v] || env[v.toUpperCase()]));
}

/**
 * An agent for both http and https requests that sends each one through the proxy the environment names
 * for its URL, or directly when there is none (NO_PROXY).
 *
 * @example
 * https.request(url, { agent: new EnvProxyAgent() });
 */
export class EnvProxyAgent extends Agent {
  readonly #agentOptions: http.AgentOptions;
  readonly #direct: { http: http.Agent; https: https.Agent };
  /** One proxy agent per (scheme, proxy URL): their sockets are pooled per proxy. */
  readonly #viaProxy = new Map<string, http.Agent>();

  constructor(opts: http.AgentOptions = {}) {
    super(opts);
    this.#agentOptions = opts;
    this.#direct = { http: new http.Agent(opts), https: new https.Agent(opts) };
  }

  override connect(_req: http.ClientRequest, opts: AgentConnectOpts): http.Agent {
    const secure = opts.secureEndpoint;
    const host = opts.host ?? "localhost";
    const url = `${secure ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${opts.port}/`;
    const proxy = getProxyForUrl(url);
    if (!proxy) return secure ? this.#direct.https : this.#direct.http;
    const key = `${secure ? "https" : "http"} ${proxy}`;
    let agent = this.#viaProxy.get(key);
    if (!agent) {
      // Plain http through a proxy opens a connection per request: a kept-alive socket reused from the pool
      // would carry the next request with a relative path, which the proxy cannot route.
      agent = secure
        ? new HttpsProxyAgent(proxy, this.#agentOptions)
        : new HttpProxyAgent(proxy, { ...this.#agentOptions, keepAlive: false });
      this.#viaProxy.set(key, agent);
    }
    return agent;
  }

  override destroy(): void {
    this.#direct.http.destroy();
    this.#direct.https.destroy();
    for (const agent of this.#viaProxy.values()) agent.destroy();
    this.#viaProxy.clear();
    super.destroy();
  }
}

/**
 * Agents for an AWS SDK client's NodeHttpHandler (`httpAgent` / `httpsAgent`), or nothing when no proxy is
 * configured. A fresh pair per client: destroying a client destroys its agents.
 */
export function awsProxyAgents(): { httpAgent: http.Agent; httpsAgent: https.Agent } | Record<string, never> {
  if (!proxyConfigured()) return {};
  const agent = new EnvProxyAgent({ keepAlive: true });
  // One agent serves both schemes: it picks http or https per request.
  return { httpAgent: agent, httpsAgent: agent as unknown as https.Agent };
}
