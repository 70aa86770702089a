/** The AWS SDK clients' HTTP handler options: timeouts, and a proxy when the environment names one. */
import type { IAMClientConfig } from "@aws-sdk/client-iam";
import { awsProxyAgents, proxyConfigured } from "../../proxy.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./request-timeout.js";

/**
 * The SDK handler's own limits, kept equal to our deadline: `throwOnRequestTimeout` makes its
 * requestTimeout an error (not a console warning) should it fire first. With HTTPS_PROXY / HTTP_PROXY set,
 * the handler's agents send each request through the proxy its URL calls for (../proxy.ts): the SDK does
 * not read those variables itself. Then the options are a provider (an async function, which the SDK's
 * NodeHttpHandler awaits before its first request: its constructor takes one), so that the proxy agent is
 * loaded only when a proxy applies.
 */
export function httpOptions(requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): HttpHandlerUserInput {
  const options = {
    connectionTimeout: Math.min(5_000, requestTimeoutMs),
    requestTimeout: requestTimeoutMs,
    throwOnRequestTimeout: true,
  };
  if (!proxyConfigured()) return options;
  const provider = async () => ({ ...options, ...(await awsProxyAgents()) });
  // The client config's type names plain options only; NodeHttpHandler.create passes a function on to the
  // constructor, whose type (Provider<NodeHttpHandlerOptions>) takes it.
  return provider as unknown as HttpHandlerUserInput;
}

type HttpHandlerUserInput = NonNullable<IAMClientConfig["requestHandler"]>;
