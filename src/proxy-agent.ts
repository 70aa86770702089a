/**
 * The proxy agent itself (see proxy.ts for which proxy a request goes through and why rekey needs one): kept
 * apart so that it and its packages (agent-base, http-proxy-agent, https-proxy-agent, proxy-from-env, debug)
 * load only when the environment names a proxy; a rotation without one never initializes them.
 */
import * as http from "node:http";
import * as https from "node:https";
import { Agent, type AgentConnectOpts } from "agent-base";
import { HttpProxyAgent } from "http-proxy-agent";
import { HttpsProxyAgent } from "https-proxy-agent";
import { getProxyForUrl } from "proxy-from-env";

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
