import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the EC2 Query API (POST form bodies, XML answers in the documented shapes of
 * API version 2016-11-15). Pages are `pageSize` items whatever MaxResults asks, so the client's
 * NextToken handling is exercised; the region is read from the SigV4 credential scope.
 */
export type TFakeRegion = {
  azs: { name: string; id: string }[];
  vpcs: { id: string; cidr: string; name?: string }[];
  subnets: { id: string; vpc: string; az: string; cidr: string; name?: string }[];
  instances: {
    id: string;
    vpc: string;
    subnet: string;
    az: string;
    ip: string;
    name?: string;
    dns?: string;
    state?: string;
  }[];
  enis: {
    id: string;
    vpc: string;
    subnet: string;
    az: string;
    ips: string[];
    instance?: string;
    mac?: string;
  }[];
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const tags = (name?: string) =>
  name ? `<tagSet><item><key>Name</key><value>${esc(name)}</value></item></tagSet>` : "<tagSet/>";

export type TFakeEc2 = {
  url: string;
  calls: Record<string, number>;
  /** When set, every call answers this EC2 error (code, HTTP status). */
  fail: { code: string; message: string; status: number } | null;
  regions: Record<string, TFakeRegion>;
  close(): Promise<void>;
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startFakeEc2(regions: Record<string, TFakeRegion>, pageSize = 2): Promise<TFakeEc2> {
  const fake: TFakeEc2 = { url: "", calls: {}, fail: null, regions, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const params = new URLSearchParams(await readBody(req));
    const action = params.get("Action") ?? "";
    fake.calls[action] = (fake.calls[action] ?? 0) + 1;
    const region =
      /Credential=[^/]+\/\d+\/([^/]+)\/ec2\//.exec(req.headers.authorization ?? "")?.[1] ?? "us-east-1";
    const send = (status: number, xml: string) => {
      res.writeHead(status, { "content-type": "text/xml;charset=UTF-8" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    };
    if (fake.fail) {
      const f = fake.fail;
      send(
        f.status,
        `<Response><Errors><Error><Code>${f.code}</Code><Message>${esc(f.message)}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`,
      );
      return;
    }
    const r = fake.regions[region];
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    const page = <T>(items: T[]) => {
      const start = Number(params.get("NextToken") ?? 0);
      const slice = items.slice(start, start + pageSize);
      const next = start + pageSize < items.length ? `<nextToken>${start + pageSize}</nextToken>` : "";
      return { slice, next };
    };
    if (!r && action !== "DescribeRegions") {
      send(
        400,
        `<Response><Errors><Error><Code>InvalidRegion</Code><Message>no region ${esc(region)}</Message></Error></Errors><RequestID>r</RequestID></Response>`,
      );
      return;
    }
    switch (action) {
      case "DescribeRegions":
        send(
          200,
          `<DescribeRegionsResponse ${ns}><requestId>r</requestId><regionInfo>${Object.keys(fake.regions)
            .map(
              (n) =>
                `<item><regionName>${n}</regionName><regionEndpoint>ec2.${n}.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>`,
            )
            .join("")}</regionInfo></DescribeRegionsResponse>`,
        );
        return;
      case "DescribeAvailabilityZones":
        send(
          200,
          `<DescribeAvailabilityZonesResponse ${ns}><requestId>r</requestId><availabilityZoneInfo>${(
            r?.azs ?? []
          )
            .map(
              (a) =>
                `<item><zoneName>${a.name}</zoneName><zoneState>available</zoneState><regionName>${region}</regionName><zoneId>${a.id}</zoneId></item>`,
            )
            .join("")}</availabilityZoneInfo></DescribeAvailabilityZonesResponse>`,
        );
        return;
      case "DescribeVpcs": {
        const { slice, next } = page(r?.vpcs ?? []);
        send(
          200,
          `<DescribeVpcsResponse ${ns}><requestId>r</requestId><vpcSet>${slice
            .map(
              (v) =>
                `<item><vpcId>${v.id}</vpcId><state>available</state><cidrBlock>${v.cidr}</cidrBlock><isDefault>false</isDefault>${tags(v.name)}</item>`,
            )
            .join("")}</vpcSet>${next}</DescribeVpcsResponse>`,
        );
        return;
      }
      case "DescribeSubnets": {
        const { slice, next } = page(r?.subnets ?? []);
        send(
          200,
          `<DescribeSubnetsResponse ${ns}><requestId>r</requestId><subnetSet>${slice
            .map(
              (s) =>
                `<item><subnetId>${s.id}</subnetId><state>available</state><vpcId>${s.vpc}</vpcId><cidrBlock>${s.cidr}</cidrBlock><availabilityZone>${s.az}</availabilityZone>${tags(s.name)}</item>`,
            )
            .join("")}</subnetSet>${next}</DescribeSubnetsResponse>`,
        );
        return;
      }
      case "DescribeInstances": {
        const { slice, next } = page(r?.instances ?? []);
        send(
          200,
          `<DescribeInstancesResponse ${ns}><requestId>r</requestId><reservationSet>${slice
            .map(
              (i) =>
                `<item><reservationId>r-${i.id}</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>${i.id}</instanceId><instanceType>t3.micro</instanceType><instanceState><code>16</code><name>${i.state ?? "running"}</name></instanceState><privateDnsName>${i.dns ?? ""}</privateDnsName><privateIpAddress>${i.ip}</privateIpAddress><placement><availabilityZone>${i.az}</availabilityZone></placement><subnetId>${i.subnet}</subnetId><vpcId>${i.vpc}</vpcId>${tags(i.name)}</item></instancesSet></item>`,
            )
            .join("")}</reservationSet>${next}</DescribeInstancesResponse>`,
        );
        return;
      }
      case "DescribeNetworkInterfaces": {
        const { slice, next } = page(r?.enis ?? []);
        send(
          200,
          `<DescribeNetworkInterfacesResponse ${ns}><requestId>r</requestId><networkInterfaceSet>${slice
            .map(
              (n) =>
                `<item><networkInterfaceId>${n.id}</networkInterfaceId><subnetId>${n.subnet}</subnetId><vpcId>${n.vpc}</vpcId><availabilityZone>${n.az}</availabilityZone><status>in-use</status><macAddress>${n.mac ?? "02:00:00:00:00:01"}</macAddress><privateIpAddress>${n.ips[0] ?? ""}</privateIpAddress>${n.instance ? `<attachment><attachmentId>att-${n.id}</attachmentId><instanceId>${n.instance}</instanceId><status>attached</status></attachment>` : ""}<privateIpAddressesSet>${n.ips
                  .map(
                    (ip, k) =>
                      `<item><privateIpAddress>${ip}</privateIpAddress><primary>${k === 0}</primary></item>`,
                  )
                  .join("")}</privateIpAddressesSet><tagSet/></item>`,
            )
            .join("")}</networkInterfaceSet>${next}</DescribeNetworkInterfacesResponse>`,
        );
        return;
      }
      default:
        send(
          400,
          `<Response><Errors><Error><Code>InvalidAction</Code><Message>${esc(action)}</Message></Error></Errors><RequestID>r</RequestID></Response>`,
        );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

/** Two VPCs that both use 10.0.0.0/16, as in the overlapping-ranges rule of docs/autotagging.md. */
export function twoVpcRegion(): TFakeRegion {
  return {
    azs: [
      { name: "eu-west-1a", id: "euw1-az1" },
      { name: "eu-west-1b", id: "euw1-az2" },
    ],
    vpcs: [
      { id: "vpc-a", cidr: "10.0.0.0/16", name: "prod" },
      { id: "vpc-b", cidr: "10.0.0.0/16", name: "staging" },
    ],
    subnets: [
      { id: "subnet-a1", vpc: "vpc-a", az: "eu-west-1a", cidr: "10.0.1.0/24", name: "prod-app" },
      { id: "subnet-a2", vpc: "vpc-a", az: "eu-west-1b", cidr: "10.0.2.0/24", name: "prod-db" },
      { id: "subnet-b1", vpc: "vpc-b", az: "eu-west-1a", cidr: "10.0.1.0/24", name: "staging-app" },
    ],
    instances: [
      { id: "i-a1", vpc: "vpc-a", subnet: "subnet-a1", az: "eu-west-1a", ip: "10.0.1.10", name: "prod-web" },
      {
        id: "i-a2",
        vpc: "vpc-a",
        subnet: "subnet-a1",
        az: "eu-west-1a",
        ip: "10.0.1.5",
        name: "prod-agent-host",
      },
      {
        id: "i-b1",
        vpc: "vpc-b",
        subnet: "subnet-b1",
        az: "eu-west-1a",
        ip: "10.0.1.10",
        name: "staging-web",
      },
      {
        id: "i-b2",
        vpc: "vpc-b",
        subnet: "subnet-b1",
        az: "eu-west-1a",
        ip: "10.0.1.6",
        name: "staging-agent-host",
      },
      {
        id: "i-gone",
        vpc: "vpc-b",
        subnet: "subnet-b1",
        az: "eu-west-1a",
        ip: "10.0.1.99",
        state: "terminated",
      },
    ],
    enis: [
      {
        id: "eni-a1",
        vpc: "vpc-a",
        subnet: "subnet-a1",
        az: "eu-west-1a",
        ips: ["10.0.1.10", "10.0.1.11"],
        instance: "i-a1",
      },
      {
        id: "eni-a2",
        vpc: "vpc-a",
        subnet: "subnet-a1",
        az: "eu-west-1a",
        ips: ["10.0.1.5"],
        instance: "i-a2",
      },
      {
        id: "eni-b1",
        vpc: "vpc-b",
        subnet: "subnet-b1",
        az: "eu-west-1a",
        ips: ["10.0.1.10"],
        instance: "i-b1",
      },
      {
        id: "eni-b2",
        vpc: "vpc-b",
        subnet: "subnet-b1",
        az: "eu-west-1a",
        ips: ["10.0.1.6"],
        instance: "i-b2",
      },
      { id: "eni-lb", vpc: "vpc-a", subnet: "subnet-a2", az: "eu-west-1b", ips: ["10.0.2.50"] },
    ],
  };
}
