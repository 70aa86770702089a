import assert from "node:assert/strict";
import { test } from "node:test";
import { newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { chooseConfiguration, configurationFor } from "./same-user.js";

const stored = (uid: string, title: string): StoredRecord => ({
  uid,
  folderUid: null,
  revision: 1,
  record: newRecord("pamAwsConfiguration", title),
  createdAt: "",
  updatedAt: "",
});

function user(ref?: string) {
  const r = newRecord("pamUser", "alice (AWS)");
  setFieldValue(r, "login", "alice", { type: "text" });
  if (ref !== undefined) setFieldValue(r, "pam_configuration", ref, { type: "text" });
  return r;
}

const prod = stored("cfgProdUid000000000000", "prod");
const dev = stored("cfgDevUid0000000000000", "dev");
const dev2 = stored("cfgDev2Uid000000000000", "dev");

test("one rule: by UID, else a unique title, else the vault's only configuration", () => {
  assert.equal(chooseConfiguration(user(prod.uid), [prod, dev]).record, prod);
  assert.equal(chooseConfiguration(user("prod"), [prod, dev]).record, prod);
  assert.equal(chooseConfiguration(user(), [prod]).record, prod);
  assert.equal(configurationFor(user("prod"), [prod, dev]), prod);
});

test("no choice is made when it would be a guess, and the reason says which case", () => {
  assert.match(
    chooseConfiguration(user("dev"), [prod, dev, dev2]).problem ?? "",
    /2 pamAwsConfiguration records have that title .*use the UID/,
  );
  assert.match(
    chooseConfiguration(user("staging"), [prod]).problem ?? "",
    /no pamAwsConfiguration record has that UID or title/,
  );
  assert.match(chooseConfiguration(user(), []).problem ?? "", /^none/);
  assert.match(
    chooseConfiguration(user(), [prod, dev]).problem ?? "",
    /2 pamAwsConfiguration records and no pam_configuration field/,
  );
  assert.equal(configurationFor(user(), [prod, dev]), undefined);
});
