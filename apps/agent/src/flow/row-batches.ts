/**
 * Rows of one kind a worker sends its parent: `{ type, rows }` messages of `size` rows as they
 * fill, the rest at `flush` (one message a batch, not a message a row).
 */
import type { MessagePort } from "node:worker_threads";

export class RowBatches<T> {
  private rows: T[] = [];

  constructor(
    private readonly port: MessagePort,
    private readonly type: string,
    private readonly size = 2000,
  ) {}

  /** A row callback for the engine's options (bound). */
  readonly push = (r: T): void => {
    this.rows.push(r);
    if (this.rows.length >= this.size) {
      this.port.postMessage({ type: this.type, rows: this.rows });
      this.rows = [];
    }
  };

  flush(): void {
    if (this.rows.length) this.port.postMessage({ type: this.type, rows: this.rows });
    this.rows = [];
  }
}
