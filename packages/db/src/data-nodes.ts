/**
 * Data-node failover timing, shared by the controller (which marks a silent node down and moves
 * its agents) and the console (which shows a node as late before that happens). Three missed
 * 2 s heartbeats: with agents syncing every 10 s, failover stays under 3 sync intervals
 * (docs/agent-protocol.md, `npm run bench -- ingest` prints it).
 */
export const DATA_NODE_HEARTBEAT_S = 2;
export const DATA_NODE_MISS_AFTER_S = 6;
