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
 *
 * The agent (proxy-agent.ts) and its packages load only when a proxy is configured (~4 ms of every cold
 * rotation otherwise): hence the promises here.
 */
import type * as http from "node:http";
import type * as https from "node:https";
import type { EnvProxyAgent } from "./proxy-agent.js";

const PROXY_VARIABLES = ["https_proxy", "http_proxy", "all_proxy"] as const;

/** True when the environment names a proxy (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, either case). */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return PROXY_VARIABLES.some((v) => Boolean(env[v] || env[v.toUpperCase()]));
}

/**
 * A new agent for both http and https requests that sends each one through the proxy the environment names
 * for its URL, or directly when there is none (NO_PROXY): proxy-agent.ts, loaded on first use.
 *
 * @example
 * https.request(url, { agent: await envProxyAgent({ keepAlive: true }) });
 */
export async function envProxyAgent(opts: http.AgentOptions = {}): Promise<EnvProxyAgent> {
  const { EnvProxyAgent } = await import("./proxy-agent.js");
  return new EnvProxyAgent(opts);
}

/**
 * Agents for an AWS SDK client's NodeHttpHandler (`httpAgent` / `httpsAgent`), or nothing when no proxy is
 * configured. A fresh pair per client: destroying a client destroys its agents.
 */
export async function awsProxyAgents(): Promise<
  { httpAgent: http.Agent; httpsAgent: https.Agent } | Record<string, never>
> {
  if (!proxyConfigured()) return {};
  const agent = await envProxyAgent({ keepAlive: true });
  // One agent serves both schemes: it picks http or https per request.
  return { httpAgent: agent, httpsAgent: agent as unknown as https.Agent };
}
