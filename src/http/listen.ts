/**
 * Where the API listens, and whether that is allowed: pure decisions, no socket.
 *
 * The rule: a loopback address (127.0.0.0/8, ::1, localhost) is always allowed; any other address only
 * with TLS (a certificate and key), or with `allowInsecure` (plain HTTP on the network: bearer tokens
 * then cross it in clear text, so it must be asked for by name, e.g. behind a TLS-terminating proxy on
 * the same host).
 */
import { isIP } from "node:net";
import { usageError } from "../errors.js";

export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

/**
 * Parse "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", "localhost:0", ":8080" for loopback).
 *
 * @example parseListen("127.0.0.1:8080") // { host: "127.0.0.1", port: 8080, loopback: true }
 */
export function parseListen(value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) {
    throw usageError(
      `--listen "${value}" is not HOST:PORT`,
      "write it as 127.0.0.1:8080, [::1]:8080 or :8080 (loopback); port 0 picks a free port",
    );
  }
  const host = m[1] ?? (m[2] || "127.0.0.1");
  const port = Number(m[3]);
  if (port > 65_535)
    throw usageError(`--listen "${value}": port ${port} is above 65535`, "use 1-65535, or 0");
  if (m[1] !== undefined && isIP(host) !== 6)
    throw usageError(`--listen "${value}": ${host} is not an IPv6 address`, "write it as [::1]:8080");
  return { host, port, loopback: isLoopback(host) };
}

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form), or the name localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.split(".")[0] === "127";
}

/** Refuse a non-loopback address without TLS unless allowInsecure says so. */
export function checkExposure(addr: ListenAddress, opts: { tls: boolean; allowInsecure: boolean }): void {
  if (addr.loopback || opts.tls || opts.allowInsecure) return;
  throw usageError(
    `refusing to serve the API on ${addr.host}:${addr.port} without TLS: bearer tokens would cross the network in clear text`,
    "give a certificate and key (TLS), listen on 127.0.0.1, or set allowInsecure when a TLS proxy on this host fronts it",
  );
}

/** The URL clients use: a wildcard host is shown as loopback. */
export function urlOf(host: string, port: number, tls: boolean): string {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const h = isIP(shown) === 6 ? `[${shown}]` : shown;
  return `${tls ? "https" : "http"}://${h}:${port}`;
}
