import { z } from "zod";

// The shapes of sealed credentials, here (no SDK imports) so the console validates what it seals
// with the same schemas the controller's sources read.

/** What an AWS account's sealed credentials hold. `endpoint` points at a fake or a private endpoint. */
export const ZAwsCredentials = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().optional(),
  /** Region used to list the others. */
  homeRegion: z.string().default("us-east-1"),
  /** Only these regions (default: every region the account has enabled). */
  regions: z.array(z.string()).optional(),
  endpoint: z.url().optional(),
  /** VXLAN/Geneve ids of VPCs whose traffic agents see tunnelled (tells overlapping ranges apart). */
  tunnelIds: z.record(z.string(), z.number().int().nonnegative()).default({}),
});
export type TAwsCredentials = z.input<typeof ZAwsCredentials>;

/** What a Kubernetes account's sealed credentials hold: a kubeconfig, or a server and a token. */
export const ZKubernetesCredentials = z
  .object({
    kubeconfig: z.string().optional(),
    server: z.url().optional(),
    token: z.string().optional(),
    caData: z.string().optional(),
    skipTLSVerify: z.boolean().default(false),
    /** External id of the VPC the cluster's nodes and pods live in (any account of the org). */
    vpc: z.string().optional(),
    pageSize: z.number().int().min(1).max(5000).default(500),
  })
  .refine((c) => c.kubeconfig || c.server, "either kubeconfig or server is required");
export type TKubernetesCredentials = z.input<typeof ZKubernetesCredentials>;
