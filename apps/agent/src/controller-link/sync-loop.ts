import type {
  TAgentConfig,
  TAgentRunState,
  TAgentStats,
  TApplyResult,
  TSyncResponse,
} from "@flowplane/protocol";
import type { CredentialHolder } from "./credential.ts";
import { ControllerError } from "./errors.ts";
import { sync, type TSyncInput } from "./sync.ts";

export type TSyncLoopOptions = {
  controllerUrl: string;
  agentId: string;
  credential: CredentialHolder;
  stats: () => TAgentStats;
  runState: () => TAgentRunState;
  /** Applies a configuration; throws (with a reason) when it cannot, and then must keep the old one running. */
  applyConfig: (config: TAgentConfig, revision: number) => Promise<void>;
  /** Told whenever the telemetry endpoint changes (the data node, or the controller itself). */
  onIngestUrl?: (url: string) => void;
  /** Told when the controller refuses this agent for good (credential refused, protocol too old). */
  onFatal?: (err: ControllerError) => void;
  /** Revision the agent already runs (e.g. restored from disk). */
  appliedRevision?: number;
  defaultIntervalS?: number;
  /** PEM of a private CA when the controller URL is https. */
  ca?: string | Buffer;
  /** More for each check-in (host addresses, packet-broker revision and counters). */
  extra?: () => Pick<TSyncInput, "hostIps" | "npbRevision" | "npbCounters">;
  /** Every answer, with the extras it answers (e.g. counters to mark as accepted). */
  onAnswer?: (res: TSyncResponse, sent: Pick<TSyncInput, "hostIps" | "npbRevision" | "npbCounters">) => void;
};

/**
 * The agent's check-in loop: every sync interval it sends heartbeat and stats, applies a new
 * configuration when one comes, and reports the outcome per revision (at once, not an interval
 * later). A revision that fails leaves the last good one running. Transient errors wait for the
 * next interval; a refusal for good stops the loop and calls `onFatal`.
 */
export class SyncLoop {
  appliedRevision: number;
  intervalS: number;
  ingestUrl: string;
  lastError: ControllerError | null = null;
  private pending: TApplyResult | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inTick: Promise<unknown> | null = null;

  constructor(private readonly o: TSyncLoopOptions) {
    this.appliedRevision = o.appliedRevision ?? 0;
    this.intervalS = o.defaultIntervalS ?? 10;
    this.ingestUrl = o.controllerUrl;
  }

  /** One check-in (and the immediate report of a configuration it applied). */
  async tick(): Promise<TSyncResponse | null> {
    const res = await this.send();
    if (!res) return null;
    if (res.config && res.revision !== this.appliedRevision) {
      try {
        await this.o.applyConfig(res.config, res.revision);
        this.appliedRevision = res.revision;
        this.pending = { revision: res.revision, ok: true };
      } catch (err) {
        this.pending = { revision: res.revision, ok: false, error: (err as Error).message ?? String(err) };
      }
      await this.send();
    }
    return res;
  }

  private async send(): Promise<TSyncResponse | null> {
    try {
      const extra = this.o.extra?.() ?? {};
      const res = await sync(
        this.o.controllerUrl,
        this.o.credential,
        {
          ...extra,
          agentId: this.o.agentId,
          state: this.o.runState(),
          appliedRevision: this.appliedRevision,
          ...(this.pending ? { applyResult: this.pending } : {}),
          stats: this.o.stats(),
        },
        this.o.ca ? { ca: this.o.ca } : {},
      );
      this.pending = undefined;
      this.lastError = null;
      this.o.onAnswer?.(res, extra);
      this.intervalS = res.syncIntervalS;
      const url = res.dataNode?.url ?? this.o.controllerUrl;
      if (url !== this.ingestUrl) {
        this.ingestUrl = url;
        this.o.onIngestUrl?.(url);
      }
      return res;
    } catch (err) {
      const e = err instanceof ControllerError ? err : new ControllerError(0, "NETWORK", String(err));
      this.lastError = e;
      if (!e.retryable) {
        this.running = false;
        this.o.onFatal?.(e);
      }
      return null;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      this.inTick = this.tick();
      await this.inTick;
      this.inTick = null;
      if (!this.running) return;
      // ±10 % jitter so a fleet restarted together does not sync in lockstep.
      const delay = this.intervalS * 1000 * (0.9 + Math.random() * 0.2);
      this.timer = setTimeout(loop, delay);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inTick;
  }
}
