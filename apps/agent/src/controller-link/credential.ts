/**
 * The agent's current credential, shared by sync and the exporter. A rotation received at sync is
 * set here; `onChange` lets the caller persist it (the new one must survive a restart, since the
 * controller drops the old one once it sees the new one).
 */
export class CredentialHolder {
  private value: string;
  private generation = 0;
  constructor(
    initial: string,
    private readonly onChange?: (credential: string) => void | Promise<void>,
  ) {
    this.value = initial;
  }

  get(): { credential: string; generation: number } {
    return { credential: this.value, generation: this.generation };
  }

  async set(credential: string): Promise<void> {
    if (credential === this.value) return;
    // Persist first: if the write fails the agent keeps using the old credential, which the
    // controller still accepts, instead of switching to one it could lose at restart.
    await this.onChange?.(credential);
    this.value = credential;
    this.generation += 1;
  }

  authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.value}` };
  }
}
