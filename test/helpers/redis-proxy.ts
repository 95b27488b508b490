import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { onCleanup, redisUrl, track } from './resources.js';
import { RequestEnds } from './resp-requests.js';

/**
 * A TCP proxy in front of Redis that injects the fault a flaky network produces: a request reaches Redis (and
 * runs there), its reply is dropped and the connection is cut, so the client cannot know whether it ran.
 * ioredis then reconnects and re-sends what was unanswered, which is how a script comes to run twice.
 */
export interface RedisProxy {
  /** `redis://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /**
   * Arms one blip: the next request from any client gets this treatment, or the next one containing any of
   * `match` (a script's SHA1 for EVALSHA, a line of its source for the EVAL ioredis sends first). That request
   * reaches Redis whole, however many chunks it spans (or a match straddles), and nothing sent after it on the
   * connection does; the answers still owed on the connection, its own included, are lost. It runs unless a
   * blocked command before it holds the connection (as on a real network).
   */
  blip(match?: string | string[]): void;
  /**
   * Arms one stall: the next request (however many chunks it spans) reaches Redis, but nothing more crosses that
   * connection either way and it stays open (a half-open TCP connection), until the client gives up on it.
   */
  stall(): void;
  /**
   * Arms one hold: the `skip`+1-th request containing any of `match` reaches Redis and runs, but its reply (and
   * whatever follows on that connection, from the first request of the chunk that carried it) waits until
   * `release()`, as on a slow network. `held` resolves once the request has passed. A blip or a stall on the
   * connection meanwhile loses the held replies with the rest.
   */
  hold(match: string | string[], skip?: number): { held: Promise<void>; release(): void };
  /** Blips at random every `minMs`..`maxMs` until {@link RedisProxy.stopBlips}; at most one is armed at a time. */
  startBlips(options: { minMs: number; maxMs: number; random?: () => number }): void;
  stopBlips(): void;
  /** Refuses (cuts) every connection while on, as a Redis that is down. */
  setDown(down: boolean): void;
  /** Blips done so far. */
  readonly blips: number;
  /** Replies that reached the proxy and wait for a hold's release. */
  readonly heldReplies: number;
  close(): Promise<void>;
}

interface Armed {
  match?: Buffer[];
  stall?: boolean;
  hold?: { skip: number; held: () => void; released: Promise<void> };
}

/**
 * After a blipped request was handed to Redis whole, both sides are cut when Redis closes its end (it does once it
 * reads the end of its input), or after this long at the latest.
 */
const CUT_AFTER_MS = 1000;

/** Bytes of a connection's stream before each chunk searched with it: a match may be at most this long. */
const TAIL_BYTES = 1024;

/** The match strings of a fault, refused when one could match every chunk or not be found across chunks. */
function matchStrings(match: string | string[]): Buffer[] {
  const all = (Array.isArray(match) ? match : [match]).map((m) => Buffer.from(m));
  if (all.length === 0 || all.some((m) => m.length === 0 || m.length > TAIL_BYTES))
    throw new Error(`a fault's match strings must be 1 to ${TAIL_BYTES} bytes long`);
  return all;
}

/**
 * Where each occurrence of `match` that ends in `chunk` starts in it: 0 when it began before (the request it falls
 * in is the one still open). `before` is the stream's last bytes before the chunk; an occurrence wholly inside
 * them was looked for with an earlier chunk.
 */
function matchesIn(before: Buffer, chunk: Buffer, match: Buffer[]): number[] {
  const found: number[] = [];
  for (const m of match) {
    const from = Math.max(0, before.length - m.length + 1);
    const carried = before.length - from;
    const text = Buffer.concat([before.subarray(from), chunk]);
    for (let i = text.indexOf(m); i >= 0; i = text.indexOf(m, i + 1)) found.push(Math.max(0, i - carried));
  }
  return found.sort((a, b) => a - b);
}

/** Index of the request (counted from the chunk's first) that byte `at` of the chunk falls in. */
const requestAt = (endsHere: number[], at: number) => endsHere.filter((e) => e <= at).length;

/** Starts a proxy to the tests' Redis (or `target`), closed after the test. */
export async function startRedisProxy(target = redisUrl()): Promise<RedisProxy> {
  const upstreamUrl = new URL(target);
  const sockets = new Set<Socket>();
  const armed: Armed[] = [];
  let down = false;
  let blips = 0;
  let heldReplies = 0;
  let timer: NodeJS.Timeout | undefined;

  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (down) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(Number(upstreamUrl.port || 6379), upstreamUrl.hostname);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => {});
    // A blip or a stall: `dropping` from its request on (no answer reaches the client); `through` once that
    // request reached Redis whole (nothing more does); `stalled` for a stall (the connection is then left open).
    let dropping = false;
    let through = false;
    let stalled = false;
    let fallback: NodeJS.Timeout | undefined;
    upstream.on('close', () => clearTimeout(fallback));
    const ends = new RequestEnds();
    // The end of the previous chunk, so a match that straddles two chunks is found.
    let tail: Buffer = Buffer.alloc(0);
    // While a faulted request is on its way, closing flushes what was written to Redis rather than discarding it.
    client.on('close', () => (dropping ? upstream.end() : upstream.destroy()));
    // Held replies: `gate` resolves once every hold armed so far on this connection is released; `chain` writes
    // the replies that arrived meanwhile, in order.
    let holds = 0;
    let queued = 0;
    let gate: Promise<void> = Promise.resolve();
    let chain: Promise<void> = Promise.resolve();
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    // The faulted request reached Redis whole. After a blip, Redis runs it (and what was sent before it, unless a
    // blocked command holds the connection), then, reading the end of its input, closes the connection, which
    // closes the client's: only then can a re-sent copy arrive. The fallback only guards against a Redis that
    // never closes, and starts once every byte was handed over (a Redis busy in a long script reads late).
    const reachedRedis = () => {
      through = true;
      if (stalled) return;
      upstream.end(() => {
        fallback = setTimeout(cut, CUT_AFTER_MS).unref();
      });
    };
    // Forwards `chunk` up to the end of the faulted request (the first request ending after `at`), nothing after.
    const forwardThrough = (chunk: Buffer, endsHere: number[], at: number) => {
      const end = endsHere.find((e) => e > at);
      if (end === undefined) {
        upstream.write(chunk);
        return;
      }
      upstream.write(chunk.subarray(0, end));
      reachedRedis();
    };
    client.on('data', (chunk: Buffer) => {
      const endsHere = ends.feed(chunk);
      const before = tail;
      // The stream's last bytes, however short the chunks that brought them.
      tail = (chunk.length >= TAIL_BYTES ? chunk : Buffer.concat([before, chunk])).subarray(-TAIL_BYTES);
      if (through) return;
      if (dropping) {
        forwardThrough(chunk, endsHere, 0);
        return;
      }
      const positions = armed.map((a) => (a.match ? matchesIn(before, chunk, a.match) : [0]));
      const i = positions.findIndex((found) => found.length > 0);
      const hold = armed[i]?.hold;
      if (hold) {
        // `skip` counts requests: a chunk may carry several that match (ioredis writes a tick's commands at once).
        const matching = new Set((positions[i] ?? []).map((at) => requestAt(endsHere, at))).size;
        if (hold.skip >= matching) {
          hold.skip -= matching;
          upstream.write(chunk);
          return;
        }
      }
      const fault = i >= 0 ? armed.splice(i, 1)[0] : undefined;
      if (!fault || fault.hold) upstream.write(chunk);
      if (!fault) return;
      if (fault.hold) {
        const { held, released } = fault.hold;
        // Every reply from here on waits for this hold and any armed before it: replies keep their order.
        holds++;
        gate = Promise.all([gate, released]).then(() => {});
        released.then(() => {
          holds--;
        });
        held();
        return;
      }
      blips++;
      // The faulted request is the one the match falls in (without a match, the one the chunk starts in): it and
      // what came before it go to Redis; whatever follows it is lost with the connection.
      dropping = true;
      stalled = fault.stall === true;
      forwardThrough(chunk, endsHere, positions[i]?.[0] ?? 0);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (!dropping && (holds > 0 || queued > 0)) {
        const after = gate;
        queued++;
        heldReplies++;
        chain = chain
          .then(() => after)
          .then(() => {
            queued--;
            heldReplies--;
            // A blip or stall since it was held loses it with the connection's other owed answers.
            if (!client.destroyed && !dropping) client.write(chunk);
          });
        return;
      }
      // From a blip on, every answer is lost with the connection.
      if (!dropping) client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  const stopBlips = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const proxy: RedisProxy = {
    url: `redis://127.0.0.1:${address.port}`,
    blip(match) {
      if (match === undefined) armed.push({});
      else armed.push({ match: matchStrings(match) });
    },
    startBlips({ minMs, maxMs, random = Math.random }) {
      stopBlips();
      const periodic: Armed = {};
      const next = () => {
        timer = setTimeout(
          () => {
            // Faults come with time, they do not pile up while no request passes: an idle spell followed by a
            // reconnect would otherwise meet one armed blip per request, its ready check included, for ever.
            if (!armed.includes(periodic)) armed.push(periodic);
            next();
          },
          minMs + (maxMs - minMs) * random(),
        );
      };
      next();
    },
    stall() {
      armed.push({ stall: true });
    },
    hold(match, skip = 0) {
      let held = () => {};
      let release = () => {};
      const heldP = new Promise<void>((r) => {
        held = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      armed.push({
        match: matchStrings(match),
        hold: { skip, held, released },
      });
      return { held: heldP, release };
    },
    stopBlips,
    setDown(on) {
      down = on;
      if (on) for (const s of sockets) s.destroy();
    },
    get blips() {
      return blips;
    },
    get heldReplies() {
      return heldReplies;
    },
    close: () =>
      new Promise<void>((resolve) => {
        stopBlips();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const done = track('redis proxy');
  onCleanup(async () => {
    await proxy.close();
    done();
  });
  return proxy;
}
