import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "../testing/sandbox-clients.js";
import {
  canonicalPath,
  canonicalQuery,
  canonicalRequest,
  checkClockSkew,
  computeSignature,
  headerMap,
  parseAmzDate,
  parseAuthorizationHeader,
  parsePresignedQuery,
  sha256Hex,
  signaturesEqual,
} from "./sigv4.js";

describe("sigv4 canonicalisation", () => {
  const paths: Array<[string, string]> = [
    ["/", "/"],
    ["", "/"],
    ["/a/b/", "/a/b/"],
    ["/a/./b/../c", "/a/c"],
    ["//a//b", "/a/b"],
    ["/a%20b", "/a%2520b"],
    ["/~user", "/~user"],
  ];
  for (const [raw, want] of paths) {
    it(`path ${JSON.stringify(raw)} → ${want}`, () => assert.equal(canonicalPath(raw), want));
  }

  const queries: Array<[string, string]> = [
    ["", ""],
    ["b=2&a=1", "a=1&b=2"],
    ["a=2&a=1", "a=1&a=2"],
    ["a=b+c", "a=b%20c"],
    ["a=%7E!", "a=~%21"],
    ["flag", "flag="],
    ["X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Date=1"],
  ];
  for (const [raw, want] of queries) {
    it(`query ${JSON.stringify(raw)} → ${JSON.stringify(want)}`, () =>
      assert.equal(canonicalQuery(raw), want));
  }

  it("header values are trimmed, blanks collapsed, repeats joined with commas", () => {
    const h = headerMap(["Host", "example.com", "X-Multi", "  a   b  ", "x-multi", "c", "X-Tab", "a\t\tb"]);
    assert.equal(h.get("host"), "example.com");
    assert.equal(h.get("x-multi"), "a b,c");
    assert.equal(h.get("x-tab"), "a b");
  });
});

describe("sigv4 AWS test suite vector (get-vanilla)", () => {
  it("computes the published signature", () => {
    const auth =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
      "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    const claim = parseAuthorizationHeader(auth);
    const headers = headerMap(["Host", "example.amazonaws.com", "X-Amz-Date", "20150830T123600Z"]);
    const canonical = canonicalRequest({
      method: "GET",
      rawPath: "/",
      rawQuery: "",
      headers,
      signedHeaders: claim.signedHeaders,
      payloadHash: sha256Hex(""),
    });
    const sig = computeSignature(
      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      claim,
      "20150830T123600Z",
      canonical,
    );
    assert.equal(sig, claim.signature);
  });
});

describe("sigv4 against the SDK's signer", () => {
  const credentials = { accessKeyId: "AKIAEXAMPLE000000001", secretAccessKey: "secret/with+chars" };
  const signer = new SignatureV4({ credentials, region: "eu-west-1", service: "iam", sha256: Sha256 });
  const date = new Date("2024-03-01T10:20:30Z");

  it("verifies a header-signed POST exactly as @smithy/signature-v4 signed it", async () => {
    const body = "Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fa%20b%2F";
    const req = new HttpRequest({
      method: "POST",
      hostname: "127.0.0.1",
      port: 4566,
      path: "/",
      headers: {
        host: "127.0.0.1:4566",
        "content-type": "application/x-www-form-urlencoded",
        "x-extra": " a  b ",
      },
      body,
    });
    const signed = await signer.sign(req, { signingDate: date });
    const raw = Object.entries(signed.headers).flat();
    const headers = headerMap(raw);
    const claim = parseAuthorizationHeader(headers.get("authorization")!);
    const canonical = canonicalRequest({
      method: "POST",
      rawPath: "/",
      rawQuery: "",
      headers,
      signedHeaders: claim.signedHeaders,
      payloadHash: sha256Hex(body),
    });
    const amzDate = headers.get("x-amz-date")!;
    assert.ok(
      signaturesEqual(
        computeSignature(credentials.secretAccessKey, claim, amzDate, canonical),
        claim.signature,
      ),
    );
    assert.ok(!signaturesEqual(computeSignature("other", claim, amzDate, canonical), claim.signature));
  });

  it("verifies a presigned GET (query-string auth)", async () => {
    const req = new HttpRequest({
      method: "GET",
      hostname: "localhost",
      path: "/",
      query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
      headers: { host: "localhost" },
    });
    const presigned = await signer.presign(req, { signingDate: date, expiresIn: 60 });
    const rawQuery = new URLSearchParams(presigned.query as Record<string, string>).toString();
    const claim = parsePresignedQuery(new URLSearchParams(rawQuery));
    assert.ok(claim);
    assert.equal(claim.source, "query");
    assert.equal(claim.expiresSeconds, 60);
    const canonical = canonicalRequest({
      method: "GET",
      rawPath: "/",
      rawQuery,
      headers: headerMap(["host", "localhost"]),
      signedHeaders: claim.signedHeaders,
      payloadHash: sha256Hex(""),
    });
    assert.ok(
      signaturesEqual(
        computeSignature(credentials.secretAccessKey, claim, claim.amzDate!, canonical),
        claim.signature,
      ),
    );
  });
});

describe("sigv4 parsing and clock", () => {
  it("reports every missing Authorization field", () => {
    assert.throws(
      () => parseAuthorizationHeader("AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/iam/aws4_request"),
      (e: Error & { code?: string }) =>
        e.code === "IncompleteSignature" &&
        /'Signature'/.test(e.message) &&
        /'SignedHeaders'/.test(e.message),
    );
    assert.throws(() => parseAuthorizationHeader("AWS3 x"), { code: "IncompleteSignature" });
    assert.throws(
      () => parseAuthorizationHeader("AWS4-HMAC-SHA256 Credential=A/b, SignedHeaders=host, Signature=x"),
      {
        code: "IncompleteSignature",
      },
    );
  });

  it("parses the credential scope", () => {
    const c = parseAuthorizationHeader(
      "AWS4-HMAC-SHA256 Credential=AKIA1/20240101/eu-west-1/sts/aws4_request,SignedHeaders=host;x-amz-date,Signature=ab",
    );
    assert.deepEqual(
      [c.accessKeyId, c.scopeDate, c.region, c.service, c.signedHeaders, c.signature],
      ["AKIA1", "20240101", "eu-west-1", "sts", ["host", "x-amz-date"], "ab"],
    );
  });

  it("parses amz dates", () => {
    assert.equal(parseAmzDate("20240102T030405Z"), Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.ok(Number.isNaN(parseAmzDate("2024-01-02T03:04:05Z")));
  });

  const now = Date.UTC(2024, 0, 1, 12, 0, 0);
  const skew: Array<[string, number, RegExp | undefined]> = [
    ["on time", now, undefined],
    ["14 minutes late", now - 14 * 60_000, undefined],
    ["14 minutes early", now + 14 * 60_000, undefined],
    [
      "16 minutes late",
      now - 16 * 60_000,
      /^Signature expired: 20240101T114400Z is now earlier than 20240101T114500Z \(20240101T120000Z - 15 min\.\)$/,
    ],
    [
      "16 minutes early",
      now + 16 * 60_000,
      /^Signature not yet current: 20240101T121600Z is still later than/,
    ],
  ];
  for (const [label, at, error] of skew) {
    it(`clock skew: ${label}`, () => {
      const amz = new Date(at)
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, "");
      if (error)
        assert.throws(
          () => checkClockSkew(at, now, amz),
          (e: Error & { code?: string }) => e.code === "SignatureDoesNotMatch" && error.test(e.message),
        );
      else checkClockSkew(at, now, amz);
    });
  }

  it("compares signatures of different lengths without throwing", () => {
    assert.equal(signaturesEqual("abc", "abcd"), false);
    assert.equal(signaturesEqual("abc", "abc"), true);
  });
});
