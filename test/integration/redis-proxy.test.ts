/**
 * The fault proxy itself: a fault that tests rely on must not add one of its own. Held replies keep their order,
 * whatever order the holds are released in (ioredis matches replies to commands by order alone).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/pipeline.js';
import { startRedisProxy } from '../helpers/redis-proxy.js';
import { onCleanup, track } from '../helpers/resources.js';

describe('redis proxy', () => {
  it('two holds on one connection, released in reverse order: every reply reaches its own command', async () => {
    const proxy = await startRedisProxy();
    const client = new Redis(proxy.url, { maxRetriesPerRequest: 0 });
    const done = track('proxied client');
    onCleanup(() => {
      client.disconnect();
      done();
    });
    const key = (k: string) => `proxy-test:${process.pid}:${k}`;
    onCleanup(async () => {
      await client.del(key('A'), key('B'), key('C')).catch(() => {});
    });
    for (const k of ['A', 'B', 'C']) await client.set(key(k), `value-of-${k}`);
    const first = proxy.hold(key('A'));
    const second = proxy.hold(key('B'));
    // One request at a time, so each leaves in a chunk of its own (a hold is armed by one chunk).
    const a = client.get(key('A'));
    await first.held;
    // A's reply is at the proxy, held, before B's hold is armed.
    await waitFor(async () => proxy.heldReplies === 1, { what: "A's reply held" });
    const b = client.get(key('B'));
    await second.held;
    const c = client.get(key('C'));
    second.release();
    first.release();
    expect({ A: await a, B: await b, C: await c }).toEqual({
      A: 'value-of-A',
      B: 'value-of-B',
      C: 'value-of-C',
    });
  });
});
