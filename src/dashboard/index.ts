import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import { ShardReads } from '../outcomes/shard-reads.js';
import type { RouteHandler } from '../server.js';
import { basicAuth, challenge, type DashboardCredentials } from './auth.js';
import { createBoard } from './board.js';
import { serveOutcome } from './outcomes-api.js';
import { OUTCOMES_PAGE_CSP, outcomesPage, outcomesScript } from './outcomes-page.js';

export type { DashboardCredentials } from './auth.js';

/** Where the dashboard is mounted on the ops server. */
export const DASHBOARD_PATH = '/dashboard';

export interface DashboardOptions {
  /** A connection the caller owns and closes after {@link Dashboard.close}. */
  redis: Redis;
  /** The queue's shards' keys, shard 0 first (one for a queue of one shard). */
  shards: readonly QueueKeys[];
  credentials: DashboardCredentials;
}

export interface Dashboard {
  /** Mount on the ops server (`startOpsServer({ routes: [dashboard.route] })`). */
  route: RouteHandler;
  close(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
) {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(body);
}

/**
 * The web view under `/dashboard/`, behind HTTP basic auth: Bull Board (read-only) at `/dashboard/`, the
 * outcome lookup at `/dashboard/outcomes` and its JSON API at `/dashboard/api/outcomes?id=`.
 *
 * Only GET and HEAD are served. Browsers resend basic credentials to any request for the origin, including
 * forms posted from other sites, so a view that changes nothing is also one that cannot be abused that way.
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const base = DASHBOARD_PATH;
  const authorized = basicAuth(options.credentials);
  const board = createBoard({
    redis: options.redis,
    shards: options.shards,
    basePath: base,
    links: [{ text: 'Outcome lookup', url: `${base}/outcomes` }],
  });
  const reads = new ShardReads(options.redis, options.shards);
  const page = outcomesPage(base);
  const script = outcomesScript(base);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== base && !path.startsWith(`${base}/`)) return false;
    if (!authorized(req)) {
      challenge(res);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'the dashboard is read-only\n', { Allow: 'GET, HEAD' });
      return true;
    }
    switch (path) {
      case base:
        send(res, 301, 'text/plain; charset=utf-8', '', { Location: `${base}/` });
        return true;
      case `${base}/outcomes`:
        send(res, 200, 'text/html; charset=utf-8', page, {
          'Content-Security-Policy': OUTCOMES_PAGE_CSP,
          'Cache-Control': 'no-store',
        });
        return true;
      case `${base}/outcomes.js`:
        send(res, 200, 'text/javascript; charset=utf-8', script, { 'Cache-Control': 'no-store' });
        return true;
      case `${base}/api/outcomes`:
        await serveOutcome(res, url.searchParams, (id) => reads.explain(id));
        return true;
      default:
        await board.listener(req, res);
        return true;
    }
  };
  return {
    route,
    close: async () => {
      await board.close();
      await reads.close();
    },
  };
}
