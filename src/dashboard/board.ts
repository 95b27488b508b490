import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';

/** Serves Bull Board's UI and API; resolves once the response is written. */
export type BoardListener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface BoardOptions {
  redis: Redis;
  /** The queue's shards' keys: each shard is a BullMQ queue of its own on the board. */
  shards: readonly QueueKeys[];
  /** Where the board is mounted, e.g. `/dashboard`. */
  basePath: string;
  /** Extra links in the board's header, e.g. the outcome lookup. */
  links?: Array<{ text: string; url: string }>;
}

export interface Board {
  listener: BoardListener;
  close(): Promise<void>;
}

/**
 * Bull Board over the queue's BullMQ view, in read-only mode. Only producers' jobs live in BullMQ's structures
 * (the wait list); the worker keeps pending, in-flight and delayed updates in its own keys, so BullMQ's
 * retry, promote and clean actions would act on a partial picture and are not offered. `status` and the
 * outcome lookup show the rest.
 */
export function createBoard(options: BoardOptions): Board {
  const queues = options.shards.map(
    (keys) =>
      new Queue(keys.queueName, {
        prefix: keys.bullPrefix,
        connection: options.redis,
        // A view must not write: BullMQ would otherwise store its defaults in the queue's meta hash.
        skipMetasUpdate: true,
      }),
  );
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(options.basePath);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: true,
          description: 'Updates not yet taken in by a worker; the status command shows every state',
        }),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'hubspot-batch-queue',
        hideDocsLink: true,
        ...(options.links ? { miscLinks: options.links } : {}),
      },
    },
  });
  // Not strict: `/dashboard/` (the address people open) must reach the board's `/` entry route.
  const app = new Hono({ strict: false });
  app.route(options.basePath, serverAdapter.registerPlugin());
  // Hono's default swaps in its own global Request/Response classes; the process keeps Node's.
  const listener = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  return {
    listener: (req, res) => listener(req, res),
    close: async () => void (await Promise.all(queues.map((q) => q.close()))),
  };
}
