import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncAws } from "../../src/clouds/sources/aws.ts";
import { startFakeEc2, type TFakeEc2, twoVpcRegion } from "./fake-ec2.ts";

const creds = (url: string) => ({
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "s3cr3t-aws-key",
  endpoint: url,
  homeRegion: "eu-west-1",
});

describe("AWS source against a local EC2 Query API", () => {
  let fake: TFakeEc2;
  beforeAll(async () => {
    fake = await startFakeEc2({
      "eu-west-1": twoVpcRegion(),
      "us-east-1": {
        azs: [{ name: "us-east-1a", id: "use1-az1" }],
        vpcs: [],
        subnets: [],
        instances: [],
        enis: [],
      },
    });
  });
  afterAll(async () => fake?.close());

  it("lists regions, AZs, VPCs, subnets, instances and ENIs with their private IPs, following NextToken", async () => {
    const out = await syncAws(creds(fake.url));
    const byKind = (k: string) =>
      out
        .filter((r) => r.kind === k)
        .map((r) => r.externalId)
        .sort();
    expect(byKind("region")).toEqual(["eu-west-1", "us-east-1"]);
    expect(byKind("az")).toEqual(["eu-west-1a", "eu-west-1b", "us-east-1a"]);
    expect(byKind("vpc")).toEqual(["vpc-a", "vpc-b"]);
    expect(byKind("subnet")).toEqual(["subnet-a1", "subnet-a2", "subnet-b1"]);
    // terminated instances are not resources
    expect(byKind("host")).toEqual(["i-a1", "i-a2", "i-b1", "i-b2"]);
    expect(byKind("interface")).toEqual(["eni-a1", "eni-a2", "eni-b1", "eni-b2", "eni-lb"]);
    const eni = out.find((r) => r.externalId === "eni-a1");
    expect(eni).toMatchObject({
      ips: ["10.0.1.10", "10.0.1.11"],
      refs: { vpc: "vpc-a", subnet: "subnet-a1", host: "i-a1", region: "eu-west-1" },
    });
    expect(out.find((r) => r.externalId === "subnet-b1")).toMatchObject({
      cidr: "10.0.1.0/24",
      name: "staging-app",
      refs: { vpc: "vpc-b", az: "eu-west-1a" },
    });
    expect(out.find((r) => r.externalId === "i-a1")?.name).toBe("prod-web");
    // 5 instances at 2 per page in eu-west-1 (3 pages) + 1 empty page in us-east-1
    expect(fake.calls.DescribeInstances).toBe(4);
    expect(fake.calls.DescribeNetworkInterfaces).toBe(4);
  });

  it("restricts to the configured regions and carries tunnel ids onto VPCs", async () => {
    const out = await syncAws({ ...creds(fake.url), regions: ["eu-west-1"], tunnelIds: { "vpc-b": 4242 } });
    expect(out.filter((r) => r.kind === "region").map((r) => r.externalId)).toEqual(["eu-west-1"]);
    expect(out.find((r) => r.externalId === "vpc-b")?.attrs).toEqual({ vni: 4242 });
  });

  it("surfaces an EC2 error (code and message) to the caller", async () => {
    fake.fail = {
      code: "AuthFailure",
      message: "AWS was not able to validate the provided access credentials",
      status: 401,
    };
    try {
      await expect(syncAws(creds(fake.url))).rejects.toThrow(/validate the provided access credentials/);
    } finally {
      fake.fail = null;
    }
  });
});
