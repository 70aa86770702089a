/**
 * A hidden-input prompt on the terminal (passphrases, secret field values). Reads from stdin when it is a
 * TTY, else from /dev/tty (so `cmd | rekey ...` can still ask), and writes the prompt to stderr so stdout stays
 * clean for scripts. Nothing typed is echoed.
 */
import { openSync } from "node:fs";
import { ReadStream } from "node:tty";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";

export async function promptHidden(prompt: string): Promise<Secret> {
  let input: ReadStream;
  let ownInput = false;
  if (process.stdin.isTTY) {
    input = process.stdin as ReadStream;
  } else {
    try {
      input = new ReadStream(openSync("/dev/tty", "r"));
      ownInput = true;
    } catch (cause) {
      throw new RekeyError("auth", "cannot prompt: there is no terminal", {
        hint: "set REKEY_PASSPHRASE or REKEY_KEY_FILE",
        cause,
      });
    }
  }
  const output = process.stderr;
  output.write(prompt);
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  input.setEncoding("utf8");
  input.resume();
  try {
    return await new Promise<Secret>((resolve, reject) => {
      let typed = "";
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n") {
            input.off("data", onData);
            resolve(new Secret(typed));
            return;
          }
          if (ch === "\u0003" || (ch === "\u0004" && typed === "")) {
            input.off("data", onData);
            reject(new RekeyError("usage", "cancelled at the prompt", { hint: "run the command again" }));
            return;
          }
          if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
          else if (ch === "\u0015")
            typed = ""; // Ctrl-U: erase the line
          else if (ch >= " ") typed += ch;
        }
      };
      input.on("data", onData);
    });
  } finally {
    input.setRawMode(wasRaw);
    input.pause();
    output.write("\n");
    if (ownInput) input.destroy();
  }
}
