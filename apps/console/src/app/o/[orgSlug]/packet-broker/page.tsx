import { EmptyState } from "@flowplane/ui";
import type { Metadata } from "next";
import { PacketBrokerPanel } from "../../../../components/PacketBrokerPanel.tsx";
import { orNotFound, serverCaller } from "../../../../server/caller.ts";
import { pageAccess } from "../../../../server/page-access.ts";

export const metadata: Metadata = { title: "Packet broker" };

const HOUR_US = 3600 * 1_000_000;

export default async function PacketBrokerPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const access = await pageAccess(orgSlug);
  if (!access.can("policies.read")) {
    return (
      <>
        <div className="fp-page-head">
          <div>
            <h1>Packet broker</h1>
          </div>
        </div>
        <EmptyState title="Not available to your role">Ask an admin for access to policies.</EmptyState>
      </>
    );
  }
  const api = await serverCaller();
  const to = Date.now() * 1000;
  const from = to - 24 * HOUR_US;
  const [list, counters, hourly] = await Promise.all([
    orNotFound(api.npb.list({ orgSlug })),
    // Counters live in ClickHouse: the page still works (policies editable) when it is down.
    api.npb.counters({ orgSlug, from, to, byAgent: true }).catch(() => null),
    api.npb.counters({ orgSlug, from, to, stepS: 3600 }).catch(() => null),
  ]);
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>Packet broker</h1>
          <p className="fp-page-sub">
            Forward selected packets from your agents to your tools. Policies apply in priority order (lowest
            first); agents pick changes up at their next sync. Rules and limits:{" "}
            <span className="fp-mono">docs/packet-broker.md</span>.
          </p>
        </div>
      </div>
      <PacketBrokerPanel
        orgSlug={orgSlug}
        policies={list.policies}
        groups={list.groups}
        counters={counters}
        hourly={hourly}
        canWrite={access.can("policies.write")}
      />
    </>
  );
}
