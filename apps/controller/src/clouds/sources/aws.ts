import {
  DescribeAvailabilityZonesCommand,
  DescribeRegionsCommand,
  EC2Client,
  paginateDescribeInstances,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSubnets,
  paginateDescribeVpcs,
  type Tag,
} from "@aws-sdk/client-ec2";
import { resource, type TSourceResource, ZAwsCredentials } from "@flowplane/db/clouds";
import type { z } from "zod";

function nameTag(tags: Tag[] | undefined, fallback: string): string {
  return tags?.find((t) => t.Key === "Name")?.Value || fallback;
}

function client(c: z.infer<typeof ZAwsCredentials>, region: string): EC2Client {
  return new EC2Client({
    region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    credentials: {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    },
    maxAttempts: 2,
  });
}

/**
 * Regions, AZs, VPCs, subnets, instances and ENIs (with their private IPs) of one AWS account, as
 * the normalised resource list. Paginated calls follow NextToken to the end.
 */
export async function syncAws(credentials: unknown): Promise<TSourceResource[]> {
  const c = ZAwsCredentials.parse(credentials);
  const out: TSourceResource[] = [];
  const home = client(c, c.homeRegion);
  let regions: string[];
  try {
    const r = await home.send(new DescribeRegionsCommand({}));
    regions = (r.Regions ?? []).map((x) => x.RegionName ?? "").filter(Boolean);
  } finally {
    home.destroy();
  }
  if (c.regions) regions = regions.filter((r) => c.regions?.includes(r));
  for (const region of regions) {
    out.push(resource({ kind: "region", externalId: region, name: region }));
    const ec2 = client(c, region);
    try {
      const azs = await ec2.send(new DescribeAvailabilityZonesCommand({}));
      for (const az of azs.AvailabilityZones ?? []) {
        if (!az.ZoneName) continue;
        out.push(
          resource({
            kind: "az",
            externalId: az.ZoneName,
            name: az.ZoneName,
            refs: { region },
            attrs: az.ZoneId ? { zoneId: az.ZoneId } : {},
          }),
        );
      }
      for await (const page of paginateDescribeVpcs({ client: ec2, pageSize: 100 }, {})) {
        for (const v of page.Vpcs ?? []) {
          if (!v.VpcId) continue;
          const vni = c.tunnelIds[v.VpcId];
          out.push(
            resource({
              kind: "vpc",
              externalId: v.VpcId,
              name: nameTag(v.Tags, v.VpcId),
              refs: { region },
              ...(v.CidrBlock ? { cidr: v.CidrBlock } : {}),
              attrs: vni !== undefined ? { vni } : {},
            }),
          );
        }
      }
      for await (const page of paginateDescribeSubnets({ client: ec2, pageSize: 100 }, {})) {
        for (const s of page.Subnets ?? []) {
          if (!s.SubnetId) continue;
          out.push(
            resource({
              kind: "subnet",
              externalId: s.SubnetId,
              name: nameTag(s.Tags, s.SubnetId),
              refs: {
                region,
                ...(s.AvailabilityZone ? { az: s.AvailabilityZone } : {}),
                ...(s.VpcId ? { vpc: s.VpcId } : {}),
              },
              ...(s.CidrBlock ? { cidr: s.CidrBlock } : {}),
            }),
          );
        }
      }
      for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 100 }, {})) {
        for (const res of page.Reservations ?? []) {
          for (const i of res.Instances ?? []) {
            if (!i.InstanceId || i.State?.Name === "terminated") continue;
            out.push(
              resource({
                kind: "host",
                externalId: i.InstanceId,
                name: nameTag(i.Tags, i.InstanceId),
                refs: {
                  region,
                  ...(i.Placement?.AvailabilityZone ? { az: i.Placement.AvailabilityZone } : {}),
                  ...(i.VpcId ? { vpc: i.VpcId } : {}),
                  ...(i.SubnetId ? { subnet: i.SubnetId } : {}),
                },
                ips: i.PrivateIpAddress ? [i.PrivateIpAddress] : [],
                attrs: {
                  ...(i.PrivateDnsName ? { privateDnsName: i.PrivateDnsName } : {}),
                  ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
                },
              }),
            );
          }
        }
      }
      for await (const page of paginateDescribeNetworkInterfaces({ client: ec2, pageSize: 100 }, {})) {
        for (const n of page.NetworkInterfaces ?? []) {
          if (!n.NetworkInterfaceId) continue;
          const ips = (n.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress ?? "").filter(Boolean);
          if (ips.length === 0 && n.PrivateIpAddress) ips.push(n.PrivateIpAddress);
          out.push(
            resource({
              kind: "interface",
              externalId: n.NetworkInterfaceId,
              name: nameTag(n.TagSet, n.NetworkInterfaceId),
              refs: {
                region,
                ...(n.AvailabilityZone ? { az: n.AvailabilityZone } : {}),
                ...(n.VpcId ? { vpc: n.VpcId } : {}),
                ...(n.SubnetId ? { subnet: n.SubnetId } : {}),
                ...(n.Attachment?.InstanceId ? { host: n.Attachment.InstanceId } : {}),
              },
              ips,
              attrs: n.MacAddress ? { mac: n.MacAddress } : {},
            }),
          );
        }
      }
    } finally {
      ec2.destroy();
    }
  }
  return out;
}
