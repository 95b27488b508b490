import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { peekInputs } from './batch-body.js';
import type { CallLog } from './call-log.js';
import type { SimClock } from './clock.js';
import {
  authErrorBody,
  errorBody,
  gatewayHtml,
  lockedBody,
  migrationBody,
  missingScopesBody,
  rateLimitBody,
  routeNotFoundBody,
  unknownObjectTypeBody,
} from './errors.js';
import type { FaultPlanner, PlannedFault } from './faults.js';
import { bearerToken, readBody, type Sleeper, sendJson, sendText } from './http-util.js';
import { drawLatency } from './latency.js';
import type { ResolvedOptions } from './options.js';
import type { Portal, PortalRegistry } from './portals.js';
import type { Random } from './prng.js';
import { processBatch, processRead } from './process-call.js';
import { matchApiRoute } from './routes.js';
import { propertiesBody, type SchemaRegistry } from './schema.js';
import { type CallRecord, FaultKind } from './types.js';

/** What the API handler works with; owned by the simulator. */
export interface ApiDeps {
  options: ResolvedOptions;
  registry: PortalRegistry;
  schemas: SchemaRegistry;
  faults: FaultPlanner;
  log: CallLog;
  random: Random;
  sleeper: Sleeper;
  /** The simulator's wall clock: arrival times, body timestamps, daily resets. */
  clock: SimClock;
  isUnreachable(): boolean;
}

type Draft = Omit<CallRecord, 'seq' | 'status' | 'latencyMs'>;

/**
 * Serves one HubSpot API call, in HubSpot's order: outage, auth, rate limit (counted at arrival), latency,
 * faults, object type, validation, apply. Every call ends in exactly one call-log record.
 */
export async function handleApiCall(
  deps: ApiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const route = matchApiRoute(method, path);
  const token = bearerToken(req);
  const draft: Draft = {
    at: deps.clock.now(),
    portal: null,
    method,
    path,
    objectType: route?.objectType ?? null,
    endpoint: route?.kind ?? null,
    inputCount: 0,
    ids: [],
    idProperties: [],
    traceIds: [],
  };
  const finish = (status: CallRecord['status'], extra: Partial<CallRecord> = {}): void => {
    deps.log.add({ ...draft, status, ...extra, latencyMs: performance.now() - started });
  };

  if (deps.isUnreachable()) {
    draft.portal = deps.registry.peek(token)?.id ?? null;
    req.socket.destroy();
    finish('reset', { fault: 'unreachable' });
    return;
  }

  const correlationId = randomUUID();
  draft.correlationId = correlationId;
  const headers: Record<string, string> = { 'X-HubSpot-Correlation-Id': correlationId };
  if (!route) {
    sendJson(res, 404, routeNotFoundBody(method, path, correlationId), headers);
    finish(404);
    return;
  }
  const auth = deps.registry.authenticate(token);
  const portal: Portal | undefined = auth.portal;
  if (portal) draft.portal = portal.id;
  // Refused credentials do not spend the budget; everything after auth does, at arrival, refused or not.
  const admission = auth.ok ? auth.portal.budget.arrive() : undefined;
  if (portal) Object.assign(headers, portal.budget.headers());

  let raw: string;
  try {
    raw = await readBody(req);
  } catch {
    finish('reset');
    return;
  }
  if (route.kind !== 'properties') {
    const peeked = peekInputs(raw);
    Object.assign(draft, peeked, { inputCount: peeked.ids.length });
  }
  if (!auth.ok) {
    if (auth.status === 401) {
      sendJson(res, 401, authErrorBody(auth.failure, correlationId, deps.clock.now()), headers);
    } else sendJson(res, 403, missingScopesBody(auth.scopes, correlationId), headers);
    finish(auth.status);
    return;
  }
  if (admission && !admission.allowed) {
    if (deps.options.retryAfterOn429) {
      headers['Retry-After'] = String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)));
    }
    sendJson(res, 429, rateLimitBody(admission.policyName, auth.portal.id, correlationId), headers);
    finish(429, { policyName: admission.policyName });
    return;
  }

  const requestedAt = new Date(draft.at).toISOString();
  if (!(await deps.sleeper.sleep(drawLatency(auth.portal.latency, deps.random)))) return;

  if (route.kind === 'properties') {
    const resolved = deps.schemas.resolve(route.objectType);
    if (!resolved) {
      sendJson(res, 404, unknownObjectTypeBody(route.objectType, correlationId), headers);
      finish(404);
    } else {
      sendJson(res, 200, propertiesBody(resolved.schema), headers);
      finish(200);
    }
    return;
  }

  const fault = deps.faults.draw(auth.portal.id, route.kind === 'batchRead' ? 'read' : 'update');
  if (fault) {
    const faulted = { fault, headers, correlationId, requestedAt, clock: deps.clock };
    if (answerWithoutApplying(req, res, faulted, finish)) return;
  }

  if (fault?.kind === FaultKind.lateApply) {
    // Held past the client's deadline, then applied against the portal as it is by then.
    if (!(await deps.sleeper.sleep(fault.hangMs ?? 0))) return;
  }
  const call = { portal: auth.portal, objectType: route.objectType, raw, correlationId, requestedAt };
  const answer = route.kind === 'batchRead' ? processRead(deps, call) : processBatch(deps, call);
  if (fault?.kind === FaultKind.hang) {
    // The write lands before the stall, so a client that times out faces an ambiguous outcome, never a write
    // that lands later than a newer one it sent after giving up.
    if (!(await deps.sleeper.sleep(fault.hangMs ?? 0))) return;
  }
  if (fault?.kind === FaultKind.ambiguous504) {
    sendText(res, 504, gatewayHtml(504), headers);
    finish(504, { fault: fault.kind });
  } else if (fault?.kind === FaultKind.resetAfterApply) {
    req.socket.destroy();
    finish('reset', { fault: fault.kind });
  } else {
    sendJson(res, answer.status, answer.body, headers);
    finish(answer.status, fault ? { fault: fault.kind } : {});
  }
}

/** Answers the faults that leave the portal untouched; returns false for those that apply the write first. */
function answerWithoutApplying(
  req: IncomingMessage,
  res: ServerResponse,
  call: {
    fault: PlannedFault;
    headers: Record<string, string>;
    correlationId: string;
    requestedAt: string;
    clock: SimClock;
  },
  finish: (status: CallRecord['status'], extra?: Partial<CallRecord>) => void,
): boolean {
  const { fault, headers, correlationId, requestedAt } = call;
  const recorded = { fault: fault.kind };
  switch (fault.kind) {
    case FaultKind.error5xx: {
      const status = fault.status ?? 500;
      sendText(res, status, gatewayHtml(status), headers);
      finish(status, recorded);
      return true;
    }
    case FaultKind.canceled: {
      const now = new Date(call.clock.now()).toISOString();
      const body = { status: 'CANCELED', results: [], requestedAt, startedAt: now, completedAt: now };
      sendJson(res, 200, body, headers);
      finish(200, recorded);
      return true;
    }
    case FaultKind.reset:
      req.socket.destroy();
      finish('reset', recorded);
      return true;
    case FaultKind.locked423:
      sendJson(res, 423, lockedBody(correlationId), headers);
      finish(423, recorded);
      return true;
    case FaultKind.migration477:
      sendJson(res, 477, migrationBody(correlationId), {
        ...headers,
        'Retry-After': String(fault.retryAfterS ?? 1),
      });
      finish(477, recorded);
      return true;
    case FaultKind.status: {
      const status = fault.status ?? 500;
      const all = { ...headers, ...fault.headers };
      if (typeof fault.body === 'string') sendText(res, status, fault.body, all);
      else
        sendJson(
          res,
          status,
          fault.body ?? errorBody('ERROR', `Simulated status ${status}`, correlationId),
          all,
        );
      finish(status, recorded);
      return true;
    }
    default:
      return false;
  }
}
