/**
 * The one logger type rekey's code takes (the engine, the AWS port, the gateway, the Keeper script): what it
 * logs with, never a secret. A pino logger (log.ts) fits it; `silentLogger` logs nothing.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
