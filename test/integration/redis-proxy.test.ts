/**
 * The fault proxy itself: a fault that tests rely on must not add one of its own. Held replies keep their order,
 * whatever order the holds are released in (ioredis matches replies to commands by order alone).
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/pipeline.js';
import { type RedisProxy, startRedisProxy } from '../helpers/redis-proxy.js';
import { onCleanup, redisUrl, track } from '../helpers/resources.js';

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

  for (const [mb, scriptMs] of [
    [1, 3],
    [16, 3],
    // Redis, busy in the script, reads the request late: it must still be handed over whole.
    [16, 1500],
  ] as const) {
    it(`a blipped request of ${mb} MB, behind a ${scriptMs}-ms script and followed by another command, runs whole once before the client sends it again; the one after it runs once`, async () => {
      const { proxy, client, key } = await proxiedClient();
      const list = key('big');
      const after = key('after');
      // Each run of the push adds one element; the busy script answers while the push is still on its way.
      proxy.blip(list);
      const slow = client.eval(
        "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > tonumber(ARGV[1]) * 1000; return 1",
        0,
        scriptMs,
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

  // Cut offsets from the match's first byte: across two chunks, and across three with a middle one shorter than it.
  for (const [what, cuts] of [
    ['two chunks', [3]],
    ['three chunks, the middle one shorter than the match,', [3, 5]],
  ] as const) {
    it(`a match spread over ${what} still blips its request: it runs, the one after it does not, nothing is answered`, async () => {
      const { proxy, key } = await proxiedClient();
      const { socket, received, closed } = await rawClient(proxy.url);
      const value = key('straddle');
      const after = key('straddle-after');
      proxy.blip('MATCHSTRING');
      const requests = resp('SET', value, 'xxMATCHSTRINGxx') + resp('INCR', after);
      const at = requests.indexOf('MATCH');
      const bounds = [0, ...cuts.map((c) => at + c), requests.length];
      await writeApart(
        socket,
        bounds.slice(1).map((end, i) => requests.slice(bounds[i], end)),
      );
      await closed;
      expect(proxy.blips).toBe(1);
      expect(received()).toBe('');
      expect(await direct().get(value)).toBe('xxMATCHSTRINGxx');
      expect(await direct().get(after)).toBeNull();
    });
  }

  it('a stalled request that spans two chunks reaches Redis whole; nothing after it does, nothing is answered, the connection stays open', async () => {
    const { proxy, key } = await proxiedClient();
    const { socket, received } = await rawClient(proxy.url);
    const value = key('stall');
    const after = key('stall-after');
    proxy.stall();
    const requests = resp('SET', value, 'v'.repeat(1000)) + resp('INCR', after);
    await writeApart(socket, [requests.slice(0, 500), requests.slice(500)]);
    await waitFor(async () => (await direct().get(value))?.length === 1000, { what: 'the stalled SET ran' });
    expect(await direct().get(after)).toBeNull();
    expect(received()).toBe('');
    expect(socket.destroyed).toBe(false);
  });

  it("a hold's skip counts requests: of two matching requests in one chunk, skip 1 holds the second", async () => {
    const { proxy } = await proxiedClient();
    const { socket, received } = await rawClient(proxy.url);
    const hold = proxy.hold('MATCHSTRING', 1);
    onCleanup(() => hold.release());
    await writeApart(socket, [resp('ECHO', 'MATCHSTRING-1') + resp('ECHO', 'MATCHSTRING-2')]);
    await hold.held;
    await waitFor(async () => proxy.heldReplies > 0, { what: 'the replies reached the proxy' });
    expect(received()).toBe('');
    hold.release();
    await waitFor(async () => received() === '$13\r\nMATCHSTRING-1\r\n$13\r\nMATCHSTRING-2\r\n', {
      what: 'both replies, in order',
    });
  });

  it('a reply held when a blip strikes its connection is lost with the others, even if released before the cut', async () => {
    const { proxy, key } = await proxiedClient();
    const { socket, received, closed } = await rawClient(proxy.url);
    const hold = proxy.hold('HELDECHO');
    onCleanup(() => hold.release());
    await writeApart(socket, [resp('ECHO', 'HELDECHO')]);
    await hold.held;
    await waitFor(async () => proxy.heldReplies > 0, { what: 'the held reply reached the proxy' });
    // The blipped script keeps Redis busy, so the connection is not cut yet when the hold is released.
    proxy.blip();
    await writeApart(socket, [
      resp(
        'EVAL',
        "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 300000; return redis.call('INCR', KEYS[1])",
        '1',
        key('ran'),
      ),
    ]);
    hold.release();
    await closed;
    expect(proxy.blips).toBe(1);
    expect(received()).toBe('');
    expect(await direct().get(key('ran'))).toBe('1');
  });
});

const resp = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** Writes each part once the one before was handed to the kernel and a moment passed, so the proxy reads them apart. */
async function writeApart(socket: Socket, parts: string[]): Promise<void> {
  for (const part of parts) {
    await new Promise<void>((resolve) => socket.write(part, () => resolve()));
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** A raw TCP client of the proxy (chunks exactly as written), destroyed after the test. */
async function rawClient(
  url: string,
): Promise<{ socket: Socket; received(): string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.on('data', (d) => {
    text += d.toString();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const done = track('raw proxy client');
  onCleanup(() => {
    socket.destroy();
    done();
  });
  await once(socket, 'connect');
  return { socket, received: () => text, closed };
}

let directClient: Redis | undefined;
/** A direct connection to Redis (not through the proxy), closed after the test. */
function direct(): Redis {
  if (directClient) return directClient;
  const client = new Redis(redisUrl());
  directClient = client;
  const done = track('direct client');
  onCleanup(async () => {
    await client.quit().catch(() => client.disconnect());
    directClient = undefined;
    done();
  });
  return client;
}
