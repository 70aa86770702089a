import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ParamReader, paginate, RULES } from "./params.js";

function problems(query: string, read: (r: ParamReader) => void): string | undefined {
  const r = new ParamReader(new URLSearchParams(query));
  read(r);
  try {
    r.done();
    return undefined;
  } catch (e) {
    assert.equal((e as { code?: string }).code, "ValidationError");
    return (e as Error).message;
  }
}

describe("ParamReader", () => {
  const cases: Array<[string, string, (r: ParamReader) => void, string | undefined]> = [
    ["valid user name", "UserName=alice.b@x", (r) => r.string("UserName", RULES.userName), undefined],
    [
      "missing required",
      "",
      (r) => r.string("UserName", { ...RULES.userName, required: true }),
      "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
    ],
    [
      "bad pattern",
      "UserName=a%20b",
      (r) => r.string("UserName", RULES.userName),
      "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    ],
    [
      "too long",
      `UserName=${"a".repeat(65)}`,
      (r) => r.string("UserName", RULES.newUserName),
      `1 validation error detected: Value '${"a".repeat(65)}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64`,
    ],
    [
      "bad enum",
      "Status=Enabled",
      (r) => r.string("Status", RULES.status),
      "1 validation error detected: Value 'Enabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]",
    ],
    [
      "two problems",
      "AccessKeyId=short",
      (r) => {
        r.string("AccessKeyId", RULES.accessKeyId);
        r.string("Status", { ...RULES.status, required: true });
      },
      "2 validation errors detected: Value 'short' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16; Value null at 'status' failed to satisfy constraint: Member must not be null",
    ],
    [
      "integer below minimum",
      "DurationSeconds=10",
      (r) => r.int("DurationSeconds", { min: 900 }),
      "1 validation error detected: Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    ],
    [
      "not an integer",
      "MaxItems=x",
      (r) => r.int("MaxItems", { min: 1 }),
      "1 validation error detected: Value 'x' at 'maxItems' failed to satisfy constraint: Member must be an integer",
    ],
  ];
  for (const [label, query, read, want] of cases) {
    it(label, () => assert.equal(problems(query, read), want));
  }
});

describe("paginate", () => {
  it("pages with an opaque marker", () => {
    const items = [1, 2, 3, 4, 5];
    const first = paginate(items, undefined, 2);
    assert.deepEqual([first.page, first.isTruncated], [[1, 2], true]);
    const second = paginate(items, first.marker, 2);
    const third = paginate(items, second.marker, 2);
    assert.deepEqual(
      [second.page, third.page, third.isTruncated, third.marker],
      [[3, 4], [5], false, undefined],
    );
    assert.deepEqual(paginate(items, undefined, undefined).page, items);
  });
});
