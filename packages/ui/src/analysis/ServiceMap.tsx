"use client";

import dagre from "@dagrejs/dagre";
import { Background, Controls, type Edge, MarkerType, type Node, ReactFlow } from "@xyflow/react";
import { useMemo } from "react";

export type ServiceMapEdge = {
  client: string;
  server: string;
  /** Short text drawn on the edge (rate, error %, p95 …). */
  label: string;
  /** 0..1, colours the edge from neutral to red. */
  severity: number;
};

const NODE_W = 190;
const NODE_H = 44;

/** Left-to-right layered layout (dagre) of a service map drawn with React Flow. */
export function ServiceMap({
  edges,
  height = 560,
  onNodeClick,
  onEdgeClick,
}: {
  edges: ServiceMapEdge[];
  height?: number;
  onNodeClick?: (node: string) => void;
  onEdgeClick?: (edge: ServiceMapEdge) => void;
}) {
  const { nodes, links } = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 160 });
    g.setDefaultEdgeLabel(() => ({}));
    const names = new Set<string>();
    for (const e of edges) {
      names.add(e.client);
      names.add(e.server);
    }
    for (const n of names) g.setNode(n, { width: NODE_W, height: NODE_H });
    for (const e of edges) if (e.client !== e.server) g.setEdge(e.client, e.server);
    dagre.layout(g);
    const nodes: Node[] = [...names].map((n) => {
      const p = g.node(n);
      return {
        id: n,
        position: { x: (p?.x ?? 0) - NODE_W / 2, y: (p?.y ?? 0) - NODE_H / 2 },
        data: { label: n },
        style: {
          width: NODE_W,
          fontSize: 12,
          fontFamily: "var(--fp-mono)",
          border: "1px solid var(--fp-border)",
          borderRadius: 6,
          background: "var(--fp-panel)",
        },
      };
    });
    const links: Edge[] = edges.map((e, i) => {
      const color = e.severity > 0.5 ? "#cf222e" : e.severity > 0.05 ? "#9a6700" : "#5f6b7a";
      return {
        id: `e${i}`,
        source: e.client,
        target: e.server,
        label: e.label,
        data: { index: i },
        style: { stroke: color, strokeWidth: 1.5 },
        labelStyle: { fontSize: 11, fill: color },
        labelBgStyle: { fill: "#fff" },
        markerEnd: { type: MarkerType.ArrowClosed, color },
      };
    });
    return { nodes, links };
  }, [edges]);
  return (
    <div style={{ height, border: "1px solid var(--fp-border)", borderRadius: 6, background: "#fbfcfd" }}>
      <ReactFlow
        nodes={nodes}
        edges={links}
        fitView
        fitViewOptions={{ maxZoom: 1, padding: 0.15 }}
        nodesDraggable
        nodesConnectable={false}
        onNodeClick={(_, n) => onNodeClick?.(n.id)}
        onEdgeClick={(_, e) => {
          const i = (e.data as { index: number } | undefined)?.index;
          if (i !== undefined && edges[i]) onEdgeClick?.(edges[i]);
        }}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
