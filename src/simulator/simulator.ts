import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleApiCall } from './api-handler.js';
import { CallLog } from './call-log.js';
import { SimClock } from './clock.js';
import { handleControl, isControlPath } from './control.js';
import type { AuthFailure } from './errors.js';
import { type FailNextOptions, type FaultOptions, FaultPlanner } from './faults.js';
import { Sleeper, sendJson } from './http-util.js';
import { mergeRecords } from './merges.js';
import { resolveOptions, type SimulatorOptions } from './options.js';
import { type OutsideClientOptions, startOutsideClient } from './outside-client.js';
import { PortalRegistry } from './portals.js';
import { mulberry32 } from './prng.js';
import { SchemaRegistry } from './schema.js';
import type { CallRecord, FaultKind, SimObject, SimStats } from './types.js';

/** A running HubSpot simulator: a real HTTP server plus in-process inspection and control. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:43123`; point the HubSpot client's base URL here. */
  readonly url: string;
  readonly port: number;
  /** Stops the server, every socket (keep-alive ones too), pending sleeps and outside clients. Idempotent. */
  close(): Promise<void>;
  getObject(portal: string, objectType: string, id: string): SimObject | undefined;
  listObjects(portal: string, objectType: string): SimObject[];
  /** The first object whose property has this value. */
  findByProperty(portal: string, objectType: string, property: string, value: string): SimObject | undefined;
  /** Creates objects (ids assigned when missing); throws on unknown properties, invalid values or taken ids. */
  createObjects(
    portal: string,
    objectType: string,
    objects: Array<{ id?: string; properties: Record<string, string> }>,
  ): SimObject[];
  /**
   * Merges record `loserId` into `winnerId` as HubSpot merges contacts: the loser's id then answers
   * OBJECT_NOT_FOUND to updates and reads, its emails name the winner (which keeps its own properties; they show
   * in its `aliases` and `hs_additional_emails`). Returns the winner. Throws on an unknown type or record.
   */
  mergeRecords(portal: string, objectType: string, loserId: string, winnerId: string): SimObject;
  /** Resolves once no API call is being served (a held late apply included). */
  idle(): Promise<void>;
  /** The call log, oldest first; with `since`, only calls whose `seq` is greater. */
  calls(since?: number): CallRecord[];
  stats(): SimStats;
  /** Merges fault probabilities over the current ones. */
  setFaults(faults: Partial<FaultOptions>): void;
  /** The fault options in force. */
  faults(): FaultOptions;
  /** Makes the next `count` batch-update calls (batch-read ones with `call: "read"`; of `options.portal`, if given) suffer `kind`. */
  failNext(count: number, kind: FaultKind, options?: FailNextOptions): void;
  /** While on, every API call's connection is destroyed on arrival; `/_sim/` and `/healthz` still answer. */
  setUnreachable(on: boolean): void;
  /** Makes a token fail with 401 (default INVALID_AUTHENTICATION) until restored. */
  revokeToken(token: string, category?: AuthFailure): void;
  restoreToken(token: string): void;
  /** Makes a token fail with 403 MISSING_SCOPES listing `scopes`; null lifts it. */
  setMissingScopes(token: string, scopes: string[] | null): void;
  /** Another client spending the token's portal budget at an even pace; returns its stop function. */
  startOutsideClient(options: OutsideClientOptions): () => void;
  /**
   * Runs the simulator's wall clock `offsetMs` ahead of the host's (negative: behind), from now on: daily resets
   * and the times written into bodies and the call log follow it; rolling windows do not. Throws a RangeError
   * for a non-integer offset.
   */
  setClockOffset(offsetMs: number): void;
  /** The clock offset in force and the simulator's wall-clock time (ms since the epoch). */
  clock(): { offsetMs: number; nowMs: number };
  /**
   * Back to the initial state: objects re-seeded, call log, windows, faults, credentials, outage, PRNG, clock
   * offset.
   */
  reset(): void;
}

/** Starts a simulator on `options.port` (default: a random free port on 127.0.0.1). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const random = mulberry32(resolved.seed);
  const clock = new SimClock(resolved.clockOffsetMs);
  const schemas = new SchemaRegistry(resolved.objectTypes);
  const registry = new PortalRegistry(resolved, schemas, clock);
  const faults = new FaultPlanner(random);
  faults.set(resolved.faults);
  const log = new CallLog(resolved.callLogLimit);
  const sleeper = new Sleeper();
  const outsideClients = new Set<() => void>();
  let active = 0;
  const idleWaiters = new Set<() => void>();
  let unreachable = false;
  let closing: Promise<void> | undefined;

  const server = createServer();
  const deps = {
    options: resolved,
    registry,
    schemas,
    faults,
    log,
    random,
    sleeper,
    clock,
    isUnreachable: () => unreachable,
  };

  const stopOutsideClients = (): void => {
    for (const stop of outsideClients) stop();
    outsideClients.clear();
  };

  const sim: Simulator = {
    url: '',
    port: 0,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        sleeper.stop();
        stopOutsideClients();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    getObject: (portal, objectType, id) => registry.get(portal).store.get(objectType, id),
    listObjects: (portal, objectType) => registry.get(portal).store.list(objectType),
    findByProperty: (portal, objectType, property, value) =>
      registry.get(portal).store.findByProperty(objectType, property, value),
    createObjects: (portal, objectType, objects) =>
      registry.get(portal).store.create(objectType, objects, clock.now()),
    mergeRecords: (portal, objectType, loserId, winnerId) =>
      mergeRecords(registry.get(portal).store, schemas, objectType, loserId, winnerId),
    idle: () =>
      active === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            idleWaiters.add(resolve);
          }),
    calls: (since) => log.since(since),
    stats: () =>
      log.stats(Object.fromEntries(registry.all().map((portal) => [portal.id, portal.budget.maxInWindow]))),
    setFaults: (partial) => faults.set(partial),
    faults: () => faults.current(),
    failNext: (count, kind, failOptions) => faults.failNext(count, kind, failOptions),
    setUnreachable: (on) => {
      unreachable = on;
      // Idle keep-alive sockets would otherwise carry the next call into the outage undisturbed until it
      // arrives; dropping them now makes the outage visible to pooled clients as well.
      if (on) server.closeIdleConnections();
    },
    revokeToken: (token, category = 'INVALID_AUTHENTICATION') => registry.revoke(token, category),
    restoreToken: (token) => registry.restore(token),
    setMissingScopes: (token, scopes) => registry.setMissingScopes(token, scopes),
    setClockOffset: (offsetMs) => clock.setOffsetMs(offsetMs),
    clock: () => ({ offsetMs: clock.offsetMs(), nowMs: clock.now() }),
    startOutsideClient: (outsideOptions) => {
      const stop = startOutsideClient(registry, log, outsideOptions);
      const stopOnce = (): void => {
        stop();
        outsideClients.delete(stopOnce);
      };
      outsideClients.add(stopOnce);
      return stopOnce;
    },
    reset: () => {
      stopOutsideClients();
      registry.reset();
      log.clear();
      faults.clear();
      faults.set(resolved.faults);
      random.reseed(resolved.seed);
      clock.setOffsetMs(resolved.clockOffsetMs);
      unreachable = false;
    },
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const control = isControlPath(url.pathname);
    if (!control) active++;
    const handled = control ? handleControl(sim, req, res, url) : handleApiCall(deps, req, res, url.pathname);
    handled
      .catch((error: unknown) => {
        sendJson(res, 500, { status: 'error', message: `simulator error: ${(error as Error).message}` });
      })
      .finally(() => {
        if (control) return;
        active--;
        if (active > 0) return;
        for (const resolve of idleWaiters) resolve();
        idleWaiters.clear();
      });
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  return Object.assign(sim, { url: `http://${host}:${port}`, port });
}
