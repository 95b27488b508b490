/**
 * The fault proxy itself: a fault that tests rely on must not add one of its own. Held replies keep their order,
 * whatever order the holds are released in (ioredis matches replies to commands by order alone).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/pipeline.js';
import { type RedisProxy, startRedisProxy } from '../helpers/redis-proxy.js';
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

  /** A client of the proxy (retrying for ever) and a key namer whose keys are deleted after the test. */
  async function proxiedClient(): Promise<{ proxy: RedisProxy; client: Redis; key: (k: string) => string }> {
    const proxy = await startRedisProxy();
    const client = new Redis(proxy.url);
    client.on('error', () => {});
    const done = track('proxied client');
    const keys: string[] = [];
    onCleanup(async () => {
      if (keys.length > 0) await client.del(...keys).catch(() => {});
      client.disconnect();
      done();
    });
    const key = (k: string) => {
      const name = `proxy-test:${process.pid}:${k}`;
      keys.push(name);
      return name;
    };
    return { proxy, client, key };
  }

  for (const mb of [1, 16]) {
    it(`a blipped request of ${mb} MB, behind a slow script and followed by another command, runs whole once before the client sends it again; the one after it runs once`, async () => {
      const { proxy, client, key } = await proxiedClient();
      const list = key('big');
      const after = key('after');
      // Each run of the push adds one element; the busy script answers while the push is still on its way.
      proxy.blip(list);
      const slow = client.eval(
        "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 3000; return 1",
        0,
      );
      const pushed = client.rpush(list, 'x'.repeat(mb << 20));
      const incremented = client.incr(after);
      expect(await Promise.all([slow, pushed, incremented])).toEqual([1, 2, 1]);
      expect(proxy.blips).toBe(1);
      // Ran once before the cut (its reply lost) and once when ioredis sent it again; the INCR sent behind it
      // never reached Redis before the cut.
      expect(await client.llen(list)).toBe(2);
      expect(await client.get(after)).toBe('1');
    });
  }
});
