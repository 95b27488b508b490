import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** Extra routes mounted on the metrics server (e.g. the dashboard); return true when handled. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** Liveness: the process and its event loop are fine. */
  healthy: () => boolean;
  /** Readiness: Redis answers and the worker loop runs. */
  ready: () => boolean | Promise<boolean>;
  routes?: RouteHandler[];
  /** Where a request that failed is logged, stack and all (the client gets a bare 500). */
  logger?: Logger;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/metrics`, `/healthz` and `/readyz` (plus mounted routes) for Prometheus and orchestrators. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // The error's text may name internals (a Redis address, a path): it goes to the log, not to the client.
      options.logger?.error({ err, path: req.url }, 'ops server request failed');
      res.statusCode = 500;
      res.end('internal error');
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      res.setHeader('Content-Type', options.registry.contentType);
      res.end(await options.registry.metrics());
      return;
    }
    if (path === '/healthz') {
      const ok = options.healthy();
      res.statusCode = ok ? 200 : 503;
      res.end(ok ? 'ok\n' : 'unhealthy\n');
      return;
    }
    if (path === '/readyz') {
      const ok = await options.ready();
      res.statusCode = ok ? 200 : 503;
      res.end(ok ? 'ready\n' : 'not ready\n');
      return;
    }
    for (const route of options.routes ?? []) {
      if (await route(req, res)) return;
    }
    res.statusCode = 404;
    res.end('not found\n');
  }
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
