/** rekey's version, as `rekey --version` prints it (main.ts through commander, start.ts without the bundle). */
export const VERSION = "0.1.0";
