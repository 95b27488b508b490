/**
 * The offset from Redis's clock to ours, as the smallest `local arrival - Redis time` of recent replies: every
 * sample is the true offset plus that reply's delay, so the smallest is the closest, and it can only err by the
 * quickest reply's delay (well under the margin). Samples age out after one to two minutes, so a clock that
 * drifts or a failover to another Redis host is followed: a smaller offset takes effect at its first sample.
 */
export class ClockOffset {
  #current = Number.POSITIVE_INFINITY;
  #previous = Number.POSITIVE_INFINITY;
  #bucketEndsAt = 0;

  /** Takes one sample and returns the estimate. */
  observe(sample: number, now: number): number {
    if (now >= this.#bucketEndsAt) {
      this.#previous = this.#current;
      this.#current = Number.POSITIVE_INFINITY;
      this.#bucketEndsAt = now + 60_000;
    }
    if (sample < this.#current) this.#current = sample;
    return Math.min(this.#current, this.#previous);
  }
}
