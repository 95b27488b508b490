/**
 * The `concurrency` slots of one worker process, shared by the loops of its queue shards (one loop per shard):
 * `WORKER_CONCURRENCY` bounds the batches in flight of the worker as a whole, so memory stays what the setting
 * says however many shards the queue has, and one busy shard may use the slots the others leave.
 *
 * A loop that stops for want of a slot says so ({@link SlotShare.starved}); when a batch of another loop ends, the
 * loops that starved are woken, and only those: a batch's end wakes its own loop already, and waking every loop
 * on every settle would cost each an ingest and a ready report.
 */
export class WorkerSlots {
  readonly #loops: Array<{ inUse: () => number; wake: () => void; starved: boolean }> = [];
  /** Slots taken for claims still on their way: a batch counts in its loop only once its claim answered. */
  #claiming = 0;

  /**
   * Adds a loop: `inUse` counts its batches in flight, `wake` runs its next pass at once.
   * @returns the loop's view of the shared slots.
   */
  join(inUse: () => number, wake: () => void): SlotShare {
    const self = { inUse, wake, starved: false };
    this.#loops.push(self);
    return {
      inUse: () => this.#loops.reduce((n, l) => n + l.inUse(), this.#claiming),
      claiming: async (claim) => {
        this.#claiming++;
        try {
          return await claim();
        } finally {
          this.#claiming--;
        }
      },
      starved: () => {
        self.starved = true;
      },
      freed: () => {
        for (const l of this.#loops) {
          if (l === self || !l.starved) continue;
          l.starved = false;
          l.wake();
        }
      },
    };
  }
}

/** One loop's view of its worker's slots. */
export interface SlotShare {
  /** Batches in flight in all the worker's loops, and claims on their way. */
  inUse(): number;
  /**
   * Runs a claim holding a slot until it answers: the loops claim concurrently, and each would otherwise see a
   * slot the others' claims are about to take.
   */
  claiming<T>(claim: () => Promise<T>): Promise<T>;
  /** This loop stopped with every slot taken: wake it when another loop's batch ends. */
  starved(): void;
  /** A batch of this loop ended: wake the loops that starved. */
  freed(): void;
}
