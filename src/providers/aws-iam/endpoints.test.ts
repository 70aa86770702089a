import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../../errors.js";
import { iamSigningRegion, partitionOf, partitionOfArn, resolveEndpoints } from "./endpoints.js";

test("partitions from regions and ARNs", () => {
  assert.equal(partitionOf("us-east-1"), "aws");
  assert.equal(partitionOf("eu-central-1"), "aws");
  assert.equal(partitionOf("us-gov-west-1"), "aws-us-gov");
  assert.equal(partitionOf("cn-northwest-1"), "aws-cn");
  assert.throws(() => partitionOf("us-isob-east-1"), /isolated AWS partition/);
  assert.throws(() => partitionOf("mars"), /not an AWS region/);
  assert.equal(partitionOfArn("arn:aws-cn:iam::123456789012:role/x"), "aws-cn");
  assert.equal(partitionOfArn("nope"), undefined);
  assert.equal(iamSigningRegion("aws-us-gov"), "us-gov-west-1");
});

test("default endpoints per partition", () => {
  const aws = resolveEndpoints({ region: "eu-west-1", env: {} });
  assert.equal(aws.iam, "https://iam.amazonaws.com");
  assert.equal(aws.sts, "https://sts.eu-west-1.amazonaws.com");
  assert.equal(aws.iamRegion, "us-east-1");
  const gov = resolveEndpoints({ region: "us-gov-east-1", env: {} });
  assert.equal(gov.iam, "https://iam.us-gov.amazonaws.com");
  assert.equal(gov.sts, "https://sts.us-gov-east-1.amazonaws.com");
  assert.equal(gov.iamRegion, "us-gov-west-1");
  const cn = resolveEndpoints({ region: "cn-north-1", env: {} });
  assert.equal(cn.iam, "https://iam.cn-north-1.amazonaws.com.cn");
  assert.equal(cn.sts, "https://sts.cn-north-1.amazonaws.com.cn");
  assert.equal(cn.partition, "aws-cn");
});

test("overrides: --endpoint-url, then service variables, then AWS_ENDPOINT_URL", () => {
  const env = {
    AWS_ENDPOINT_URL: "http://general:1",
    AWS_ENDPOINT_URL_IAM: "http://iam-only:2/",
    REKEY_ALLOW_INSECURE_ENDPOINT: "1",
  };
  const e = resolveEndpoints({ region: "us-east-1", env });
  assert.equal(e.iam, "http://iam-only:2");
  assert.equal(e.iamSource, "AWS_ENDPOINT_URL_IAM");
  assert.equal(e.sts, "http://general:1");
  assert.equal(e.stsSource, "AWS_ENDPOINT_URL");
  const o = resolveEndpoints({ region: "us-east-1", env, endpointUrl: "http://127.0.0.1:9" });
  assert.equal(o.iam, "http://127.0.0.1:9");
  assert.equal(o.sts, "http://127.0.0.1:9");
  const ignored = resolveEndpoints({
    region: "us-east-1",
    env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
  });
  assert.equal(ignored.iam, "https://iam.amazonaws.com");
  assert.throws(
    () => resolveEndpoints({ region: "us-east-1", env: {}, endpointUrl: "ftp://x" }),
    /http or https/,
  );
  assert.throws(
    () => resolveEndpoints({ region: "us-east-1", env: { AWS_ENDPOINT_URL_STS: "::" } }),
    /not a URL/,
  );
});

test("plain http to another machine is refused, naming the endpoint, unless REKEY_ALLOW_INSECURE_ENDPOINT=1", () => {
  const refused = (endpointUrl: string | undefined, env: Record<string, string> = {}) =>
    assert.throws(
      () => resolveEndpoints({ region: "us-east-1", endpointUrl, env }),
      (err: unknown) =>
        err instanceof RekeyError &&
        err.kind === "usage" &&
        /plain http to another machine: a new secret key would cross the network in clear/.test(
          err.message,
        ) &&
        /REKEY_ALLOW_INSECURE_ENDPOINT=1/.test(err.hint ?? ""),
    );
  refused("http://iam.internal.example:8080");
  refused("http://10.0.0.5");
  refused("http://[fe80::1]:80");
  refused("http://127.0.0.1.nip.io");
  refused(undefined, { AWS_ENDPOINT_URL: "http://proxy.corp:3128" });
  refused(undefined, { AWS_ENDPOINT_URL_IAM: "http://iam.corp" });
  refused(undefined, { AWS_ENDPOINT_URL_STS: "http://sts.corp" });
  refused("http://x.example", { REKEY_ALLOW_INSECURE_ENDPOINT: "true" }); // only "1" allows it
  assert.throws(
    () => resolveEndpoints({ region: "us-east-1", endpointUrl: "http://user:pw@iam.corp/x", env: {} }),
    (err: unknown) =>
      err instanceof Error && err.message.includes("http://iam.corp ") && !err.message.includes("pw"),
  );

  for (const ok of [
    "http://127.0.0.1:4566",
    "http://127.9.8.7",
    "http://localhost:1",
    "http://[::1]:9",
    "https://iam.corp",
  ]) {
    assert.equal(resolveEndpoints({ region: "us-east-1", endpointUrl: ok, env: {} }).iam, ok);
  }
  const allowed = resolveEndpoints({
    region: "us-east-1",
    env: { AWS_ENDPOINT_URL: "http://iam.corp:80", REKEY_ALLOW_INSECURE_ENDPOINT: "1" },
  });
  assert.equal(allowed.iam, "http://iam.corp:80");
});
