// Reconnect delays: 1 s doubling to 30 s, with ±20 % jitter so that many tabs do not reconnect in
// lock-step; reset after a connection stayed up for 60 s (same policy as the native provider).

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the base up to the maximum. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    if (base < this.maxMs) this.attempt++;
    const jitter = 1 + (this.random() * 0.4 - 0.2);
    return Math.round(Math.min(this.maxMs, base * jitter));
  }

  /** Call after a connection ended: resets the delay if it had been up for at least 60 s. */
  connectionEnded(upMs: number): void {
    if (upMs >= 60_000) this.attempt = 0;
  }

  reset(): void {
    this.attempt = 0;
  }
}
