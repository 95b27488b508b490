import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody, sendJson } from './http-util.js';
import type { Simulator } from './simulator.js';
import { FaultKind } from './types.js';

const FaultsSchema = z
  .object({
    error5xx: z.number(),
    canceled: z.number(),
    ambiguous504: z.number(),
    reset: z.number(),
    resetAfterApply: z.number(),
    locked423: z.number(),
    migration477: z.number(),
    hang: z.number(),
    hangMs: z.number().nonnegative(),
    lateApply: z.number(),
    lateApplyMs: z.number().nonnegative(),
    migrationRetryAfterS: z.number().nonnegative(),
  })
  .partial()
  .strict();

const FailNextSchema = z.object({
  count: z.number().int().nonnegative(),
  kind: z.enum(Object.values(FaultKind) as [FaultKind, ...FaultKind[]]),
  status: z.number().int().min(100).max(599).optional(),
  body: z.unknown().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  hangMs: z.number().nonnegative().optional(),
  retryAfterS: z.number().nonnegative().optional(),
  portal: z.string().optional(),
  call: z.enum(['update', 'read']).optional(),
});

const MergeSchema = z.object({ loserId: z.string().min(1), winnerId: z.string().min(1) });

const CreateSchema = z.object({
  objects: z.array(z.object({ id: z.string().optional(), properties: z.record(z.string(), z.string()) })),
});

const TokenSchema = z.object({
  token: z.string().min(1),
  category: z.enum(['INVALID_AUTHENTICATION', 'EXPIRED_AUTHENTICATION']).optional(),
});
const ScopesSchema = z.object({ token: z.string().min(1), scopes: z.array(z.string()).nullable() });
const OnSchema = z.object({ on: z.boolean() });
/** Either the offset itself, or the wall-clock time the simulator should read now (the offset follows). */
const ClockSchema = z.union([
  z.object({ offsetMs: z.number().int().safe() }).strict(),
  z.object({ nowMs: z.number().int().safe() }).strict(),
]);

class BadRequest extends Error {}

async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const raw = await readBody(req);
  let json: unknown;
  try {
    json = raw === '' ? {} : JSON.parse(raw);
  } catch (error) {
    throw new BadRequest(`invalid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BadRequest(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}

/** True for paths served by {@link handleControl}: they stay reachable during a simulated outage. */
export function isControlPath(path: string): boolean {
  return path === '/healthz' || path.startsWith('/_sim/');
}

/**
 * The inspection and control API under `/_sim/` (plus `/healthz`): no auth, no rate limit, not logged, so a
 * demo or benchmark in another process can drive and check the simulator.
 */
export async function handleControl(
  sim: Simulator,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const route = `${method} /${parts.slice(0, 2).join('/')}`;
  try {
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    switch (route) {
      case 'GET /_sim/objects': {
        const [, , portal, objectType, id] = parts;
        if (!portal || !objectType || parts.length > 5) break;
        if (id === undefined) return sendJson(res, 200, sim.listObjects(portal, objectType));
        const object = sim.getObject(portal, objectType, id);
        return object
          ? sendJson(res, 200, object)
          : sendJson(res, 404, { message: `no ${objectType} ${id}` });
      }
      case 'POST /_sim/objects': {
        const [, , portal, objectType] = parts;
        if (!portal || !objectType || parts.length > 4) break;
        const { objects } = await jsonBody(req, CreateSchema);
        let created: ReturnType<Simulator['createObjects']>;
        try {
          created = sim.createObjects(portal, objectType, objects.map(definedOnly));
        } catch (error) {
          throw new BadRequest((error as Error).message);
        }
        return sendJson(res, 201, created);
      }
      case 'POST /_sim/merges': {
        const [, , portal, objectType] = parts;
        if (!portal || !objectType || parts.length > 4) break;
        const { loserId, winnerId } = await jsonBody(req, MergeSchema);
        try {
          return sendJson(res, 200, sim.mergeRecords(portal, objectType, loserId, winnerId));
        } catch (error) {
          throw new BadRequest((error as Error).message);
        }
      }
      case 'GET /_sim/calls': {
        const since = Number(url.searchParams.get('since') ?? '0');
        return sendJson(res, 200, sim.calls(Number.isFinite(since) ? since : 0));
      }
      case 'GET /_sim/stats':
        return sendJson(res, 200, sim.stats());
      case 'GET /_sim/faults':
        return sendJson(res, 200, sim.faults());
      case 'POST /_sim/faults':
        sim.setFaults(definedOnly(await jsonBody(req, FaultsSchema)));
        return sendJson(res, 200, sim.faults());
      case 'POST /_sim/fail-next': {
        const { count, kind, ...options } = await jsonBody(req, FailNextSchema);
        sim.failNext(count, kind, definedOnly(options));
        return sendJson(res, 200, { ok: true });
      }
      case 'POST /_sim/unreachable':
        sim.setUnreachable((await jsonBody(req, OnSchema)).on);
        return sendJson(res, 200, { ok: true });
      case 'GET /_sim/clock':
        return sendJson(res, 200, sim.clock());
      case 'POST /_sim/clock': {
        const body = await jsonBody(req, ClockSchema);
        sim.setClockOffset('offsetMs' in body ? body.offsetMs : body.nowMs - Date.now());
        return sendJson(res, 200, sim.clock());
      }
      case 'POST /_sim/reset':
        sim.reset();
        return sendJson(res, 200, { ok: true });
      case 'POST /_sim/tokens': {
        const action = parts[2];
        if (action === 'revoke') {
          const { token, category } = await jsonBody(req, TokenSchema);
          sim.revokeToken(token, category);
        } else if (action === 'restore') {
          sim.restoreToken((await jsonBody(req, TokenSchema)).token);
        } else if (action === 'scopes') {
          const { token, scopes } = await jsonBody(req, ScopesSchema);
          sim.setMissingScopes(token, scopes);
        } else break;
        return sendJson(res, 200, { ok: true });
      }
    }
    sendJson(res, 404, { message: `no control route ${method} ${url.pathname}` });
  } catch (error) {
    const status = error instanceof BadRequest || error instanceof RangeError ? 400 : 500;
    sendJson(res, status, { message: (error as Error).message });
  }
}

/** The fields zod parsed that are set: an optional field a request left out stays out, not `undefined`. */
function definedOnly<T extends object>(parsed: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
