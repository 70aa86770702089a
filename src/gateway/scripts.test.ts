import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { newRecord, newUid } from "../vault/record.js";
import { newScriptFileRecord, readScriptFile } from "./script-file.js";
import { addScript, listScripts, parseCommand, removeScript, scriptsInRunOrder } from "./scripts.js";

const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof RekeyError ? err.kind : "other";
  }
  return "none";
};

test("add, list and remove scripts in Keeper's rotationScripts shape", () => {
  const user = newRecord("pamUser", "alice");
  const f1 = newUid();
  const f2 = newUid();
  const cred = newUid();
  const a = addScript(user, { fileRef: f1, command: "node", recordRef: [cred, cred] });
  const b = addScript(a, { fileRef: f2, command: "python3" });
  assert.deepEqual(listScripts(user), [], "the input is not changed");
  assert.deepEqual(
    b.fields.find((f) => f.label === "rotationScripts"),
    {
      type: "script",
      label: "rotationScripts",
      value: [
        { fileRef: f1, recordRef: [cred], command: "node" },
        { fileRef: f2, recordRef: [], command: "python3" },
      ],
    },
  );
  assert.deepEqual(
    b.fields.find((f) => f.type === "fileRef")?.value,
    [f1, f2],
    "listed as the record's attachments, as Keeper does",
  );

  const byPosition = removeScript(b, "1");
  assert.equal(byPosition.removed.fileRef, f1);
  assert.deepEqual(
    listScripts(byPosition.record).map((s) => s.fileRef),
    [f2],
  );
  assert.deepEqual(byPosition.record.fields.find((f) => f.type === "fileRef")?.value, [f2]);

  const byUid = removeScript(b, f2);
  assert.deepEqual(
    listScripts(byUid.record).map((s) => s.fileRef),
    [f1],
  );
});

test("a record type without the standard fields gets custom ones", () => {
  const rec = newRecord("general", "box");
  rec.fields = rec.fields.filter((f) => f.type !== "fileRef");
  const f = newUid();
  const out = addScript(rec, { fileRef: f, command: "/usr/bin/env python3" });
  assert.deepEqual(listScripts(out), [{ fileRef: f, recordRef: [], command: "/usr/bin/env python3" }]);
  assert.deepEqual(
    out.custom.find((x) => x.type === "fileRef"),
    { type: "fileRef", value: [f] },
  );
});

test("errors: bad command, bad file uid, duplicate, unknown script", () => {
  const user = newRecord("pamUser", "alice");
  const f = newUid();
  assert.equal(
    kindOf(() => addScript(user, { fileRef: f, command: "  " })),
    "usage",
  );
  assert.equal(
    kindOf(() => addScript(user, { fileRef: f, command: "node\nrm -rf /" })),
    "usage",
  );
  assert.equal(
    kindOf(() => addScript(user, { fileRef: "../etc/passwd", command: "node" })),
    "usage",
  );
  const once = addScript(user, { fileRef: f, command: "node" });
  assert.equal(
    kindOf(() => addScript(once, { fileRef: f, command: "node" })),
    "conflict",
  );
  assert.equal(
    kindOf(() => removeScript(once, "2")),
    "not-found",
  );
  assert.throws(() => removeScript(once, "nope"), /attached: 1: .* \(node\)/);
});

test("listScripts reads liberally: JSON strings, a single recordRef, junk skipped", () => {
  const user = newRecord("pamUser", "alice");
  const field = user.fields.find((f) => f.label === "rotationScripts")!;
  field.value = ['{"fileRef":"abc","recordRef":"r1","command":"node"}', "not json", { command: "node" }, 7];
  assert.deepEqual(listScripts(user), [{ fileRef: "abc", recordRef: ["r1"], command: "node" }]);
});

test("run order: the user's scripts, then the resource's, then the configuration's", () => {
  const user = addScript(addScript(newRecord("pamUser", "u"), { fileRef: "u1", command: "node" }), {
    fileRef: "u2",
    command: "node",
  });
  const resource = addScript(newRecord("pamMachine", "m"), { fileRef: "m1", command: "bash" });
  const config = addScript(newRecord("login", "c"), { fileRef: "c1", command: "python3" });
  const order = scriptsInRunOrder({
    configuration: { uid: "C", record: config },
    user: { uid: "U", record: user },
    resource: { uid: "M", record: resource },
  });
  assert.deepEqual(
    order.map((s) => `${s.ownerUid}#${s.position}:${s.script.fileRef}`),
    ["U#1:u1", "U#2:u2", "M#1:m1", "C#1:c1"],
  );
});

test("parseCommand splits without a shell", () => {
  assert.deepEqual(parseCommand(" pwsh  -File "), ["pwsh", "-File"]);
});

test("script files: stored as a file record, read back byte for byte, checksum verified", () => {
  const bytes = Buffer.from("\uFEFFconsole.log('hi')\r\n", "utf8");
  const rec = newScriptFileRecord("/home/me/rotate.mjs", bytes);
  assert.equal(rec.type, "file");
  assert.equal(rec.title, "rotate.mjs");
  assert.equal(rec.fields.find((f) => f.label === "content")?.type, "secret");
  const back = readScriptFile(rec, "uid1");
  assert.equal(back.fileName, "rotate.mjs");
  assert.deepEqual(back.content, bytes);

  const tampered = structuredClone(rec);
  tampered.fields.find((f) => f.label === "content")!.value = [Buffer.from("evil").toString("base64")];
  assert.equal(
    kindOf(() => readScriptFile(tampered)),
    "integrity",
  );
  assert.equal(
    kindOf(() => readScriptFile(newRecord("login", "x"))),
    "usage",
  );
  assert.equal(
    kindOf(() => newScriptFileRecord("my script.js", "x")),
    "usage",
  );
  assert.equal(
    kindOf(() => newScriptFileRecord("empty.js", "")),
    "usage",
  );
});
