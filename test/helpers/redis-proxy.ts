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
   * reaches Redis whole, however many chunks it spans, and nothing sent after it on the connection does; the
   * answers still owed on the connection, its own included, are lost.
   */
  blip(match?: string | string[]): void;
  /**
   * Arms one stall: the next request reaches Redis, but nothing more crosses that connection either way and it
   * stays open (a half-open TCP connection), until the client gives up on it.
   */
  stall(): void;
  /**
   * Arms one hold: the `skip`+1-th request containing any of `match` reaches Redis and runs, but its reply (and
   * whatever follows on that connection) waits until `release()`, as on a slow network. `held` resolves once
   * the request has passed.
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
 * After a blipped request reached Redis whole, both sides are cut when Redis closes its end, or after this long at
 * the latest (a blocked command may keep Redis from reading the end of its input).
 */
const CUT_AFTER_MS = 1000;

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
    // A blip: `dropping` from the blipped request on (nothing more reaches the client); `finished` once that
    // request is through whole (nothing more reaches Redis).
    let dropping = false;
    let finished = false;
    let stalled = false;
    const ends = new RequestEnds();
    // While a blipped request is on its way, closing flushes what was written to Redis rather than discarding it.
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
    // The blipped request reached Redis whole: Redis runs it (and what was sent before it), then, seeing the end
    // of its input, closes the connection, which closes the client's: only then can a re-sent copy arrive.
    const finish = () => {
      finished = true;
      upstream.end();
      setTimeout(cut, CUT_AFTER_MS).unref();
    };
    client.on('data', (chunk: Buffer) => {
      const endsHere = ends.feed(chunk);
      if (stalled || finished) return;
      if (dropping) {
        const end = endsHere[0];
        if (end === undefined) upstream.write(chunk);
        else {
          upstream.write(chunk.subarray(0, end));
          finish();
        }
        return;
      }
      const i = armed.findIndex((a) => !a.match || a.match.some((m) => chunk.includes(m)));
      const hold = armed[i]?.hold;
      if (hold && hold.skip-- > 0) {
        upstream.write(chunk);
        return;
      }
      const fault = i >= 0 ? armed.splice(i, 1)[0] : undefined;
      if (!fault || fault.hold || fault.stall) upstream.write(chunk);
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
      if (fault.stall) {
        stalled = true;
        return;
      }
      // The blipped request is the one the match falls in (without a match, the one the chunk starts in): it and what came
      // before it go to Redis, whatever follows it in the chunk is lost with the connection.
      dropping = true;
      const found = (fault.match ?? []).map((m) => chunk.indexOf(m)).filter((x) => x >= 0);
      const at = found.length > 0 ? Math.min(...found) : 0;
      const end = endsHere.find((e) => e > at);
      if (end === undefined) upstream.write(chunk);
      else {
        upstream.write(chunk.subarray(0, end));
        finish();
      }
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
            if (!client.destroyed) client.write(chunk);
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
      else armed.push({ match: (Array.isArray(match) ? match : [match]).map((m) => Buffer.from(m)) });
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
        match: (Array.isArray(match) ? match : [match]).map((m) => Buffer.from(m)),
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
