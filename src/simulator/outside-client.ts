import { performance } from 'node:perf_hooks';
import type { CallLog } from './call-log.js';
import type { PortalRegistry } from './portals.js';

/** Another client of the same app and account, e.g. the backend's own direct HubSpot calls. */
export interface OutsideClientOptions {
  token: string;
  callsPerSecond: number;
}

/**
 * Spends a portal's rate budget at an even pace without going through HTTP. Arrivals owed are computed from
 * the elapsed time, so the pace holds even when timers fire late or the rate exceeds one call per ms.
 * Returns the function that stops it (idempotent).
 */
export function startOutsideClient(
  registry: PortalRegistry,
  log: CallLog,
  options: OutsideClientOptions,
): () => void {
  const { token, callsPerSecond } = options;
  if (!(callsPerSecond > 0)) throw new RangeError('callsPerSecond must be positive');
  const periodMs = 1000 / callsPerSecond;
  const start = performance.now();
  let made = 0;
  const tick = (): void => {
    const owed = Math.floor((performance.now() - start) / periodMs) + 1;
    for (; made < owed; made++) {
      // A token that no longer authenticates makes calls that are refused before they count.
      const auth = registry.authenticate(token);
      if (!auth.ok) continue;
      auth.portal.budget.arrive();
      log.countOutside(auth.portal.id);
    }
  };
  tick();
  const timer = setInterval(tick, Math.max(1, periodMs));
  // Stopped by close(); unref'd so a forgotten client never keeps a process alive on its own.
  timer.unref();
  return () => clearInterval(timer);
}
