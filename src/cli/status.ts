import { renderStatus } from '../admin/status-render.js';
import type { Config } from '../config.js';
import { withQueueAdmin } from './admin.js';
import { write } from './io.js';
import { parseCommandArgs } from './usage.js';

/** `status [--json]`; throws {@link UsageError} for anything else. */
export function parseStatusArgs(args: string[]): { json: boolean } {
  return { json: parseCommandArgs(args, { json: { type: 'boolean' } }).values.json === true };
}

/**
 * `status [--json]`: queue depth by state, the oldest waiting update's age, each account's budget and pause
 * state, failures by category and live workers; aligned tables, or one JSON document with `--json`.
 */
export async function runStatus(request: { json: boolean }, config: Config): Promise<number> {
  // An operator asking for status wants an answer or an error quickly, not a client that waits out an outage.
  return withQueueAdmin(
    config,
    async (admin) => {
      const status = await admin.status();
      await write(
        process.stdout,
        request.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status),
      );
      return 0;
    },
    // An operator asking for status wants an answer or an error quickly, not a client that waits out an outage.
    {
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      retryStrategy: (attempt) => (attempt > 3 ? null : 200 * attempt),
    },
  );
}
