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

  it('a blipped request too large for one chunk still runs; only its reply is lost, and the client sends it again', async () => {
    const proxy = await startRedisProxy();
    const client = new Redis(proxy.url);
    client.on('error', () => {});
    const done = track('proxied client');
    onCleanup(() => {
      client.disconnect();
      done();
    });
    const list = `proxy-test:${process.pid}:big`;
    onCleanup(async () => {
      await client.del(list).catch(() => {});
    });
    // About 1 MB: far more than one socket read. Each run pushes one element.
    const payload = 'x'.repeat(1 << 20);
    proxy.blip(list);
    const length = await client.rpush(list, payload);
    expect(proxy.blips).toBe(1);
    // Ran once before the cut (the reply lost) and once when ioredis sent it again.
    expect(length).toBe(2);
    expect(await client.llen(list)).toBe(2);
  });
});
