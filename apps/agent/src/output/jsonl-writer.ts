/**
 * Appends one JSON object per line, buffered: lines are joined into ~1 MiB strings and written
 * with one fs.writeSync each, so millions of rows cost a few hundred syscalls.
 */
import { closeSync, openSync, writeSync } from "node:fs";

export class JsonlWriter {
  private fd: number;
  private parts: string[] = [];
  private size = 0;
  rows = 0;

  constructor(path: string) {
    this.fd = openSync(path, "w");
  }

  write(row: object): void {
    const line = JSON.stringify(row);
    this.parts.push(line);
    this.size += line.length + 1;
    this.rows++;
    if (this.size >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    writeSync(this.fd, `${this.parts.join("\n")}\n`);
    this.parts = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
