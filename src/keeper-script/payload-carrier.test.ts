import assert from "node:assert/strict";
import { test } from "node:test";
import { runInThisContext } from "node:vm";
import { payloadOf } from "./payload-carrier.js";

const CLOSE = "*\\rekey-close\\/";

test("the payload is the comment's text, each closing mark put back as */", () => {
  // Built from text (as build.mjs writes it): a transpiled test file would have lost the comment.
  const carrier = runInThisContext(`(function(){/*var re = /a.${CLOSE}i; // x ${CLOSE}\n*/})`) as () => void;
  assert.equal(payloadOf(carrier, CLOSE), "var re = /a.*/i; // x */\n");
  const plain = runInThisContext("(function(){/*no mark here*/})") as () => void;
  assert.equal(payloadOf(plain, CLOSE), "no mark here");
});
