import type { Redis } from 'ioredis';
import { within } from '../connections.js';

/** How long one wait on BullMQ's marker blocks (s). */
const MARKER_WAIT_S = 5;
/** Pause after a failed wait (Redis unreachable), so a dead connection is not hammered. */
const RETRY_MS = 500;

/**
 * Waits on BullMQ's marker zset (as BullMQ workers do) on its own blocking connection and calls `onJobs` when
 * producers add jobs, so new jobs wake the loop without polling. Ends once `running()` is false or `signal`
 * aborts. A wait overdue by far more than its own timeout means a hung connection: it is dropped and redone.
 */
export async function listenForJobs(options: {
  blocking: Redis;
  marker: string;
  running: () => boolean;
  onJobs: () => void;
  signal: AbortSignal;
}): Promise<void> {
  const { blocking, marker, running, onJobs, signal } = options;
  while (running()) {
    try {
      const popped = await within(MARKER_WAIT_S * 3000, blocking.bzpopmin(marker, MARKER_WAIT_S), signal);
      if (!running()) return;
      if (!popped.done) blocking.disconnect(true);
      if (popped.error) throw popped.error;
      if (popped.value) onJobs();
    } catch {
      if (!running()) return;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
