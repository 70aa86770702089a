import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AwsError } from "./errors.js";
import {
  el,
  encodePolicyDocument,
  escapeXml,
  isoDate,
  members,
  parseParams,
  renderError,
  renderResult,
} from "./query-protocol.js";

describe("query protocol", () => {
  it("parses form bodies (+ and %-escapes)", () => {
    const p = parseParams("Action=CreateUser&UserName=a%2Bb&Path=%2Fx+y%2F");
    assert.equal(p.get("Action"), "CreateUser");
    assert.equal(p.get("UserName"), "a+b");
    assert.equal(p.get("Path"), "/x y/");
  });

  it("escapes XML text", () =>
    assert.equal(escapeXml(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"));

  it("omits absent members and renders lists", () => {
    assert.equal(el("A", undefined), "");
    assert.equal(el("A", false), "<A>false</A>");
    assert.equal(
      members("L", [1, 2], (n) => el("N", n)),
      "<L><member><N>1</N></member><member><N>2</N></member></L>",
    );
    assert.equal(members("L", [], String), "<L></L>");
  });

  it("renders timestamps in whole seconds, UTC", () =>
    assert.equal(isoDate(Date.UTC(2024, 4, 1, 10, 0, 0, 789)), "2024-05-01T10:00:00Z"));

  it("URL-encodes policy documents as IAM returns them", () =>
    assert.equal(encodePolicyDocument('{"A":"b c*"}'), "%7B%22A%22%3A%22b%20c%2A%22%7D"));

  it("renders the success envelope with the service namespace", () => {
    assert.equal(
      renderResult("iam", "CreateUser", "<User/>", "rid"),
      '<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User/></CreateUserResult>' +
        "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></CreateUserResponse>",
    );
    assert.equal(
      renderResult("sts", "DeleteUser", undefined, "r"),
      '<DeleteUserResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>',
    );
  });

  it("renders AWS's error envelope", () => {
    assert.equal(
      renderError("iam", new AwsError("NoSuchEntity", "The user with name <x> cannot be found.", 404), "rid"),
      '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>' +
        "<Message>The user with name &lt;x&gt; cannot be found.</Message></Error><RequestId>rid</RequestId></ErrorResponse>",
    );
    assert.match(
      renderError("sts", new AwsError("InternalFailure", "x", 500), "r"),
      /<Type>Receiver<\/Type>/,
    );
  });
});
