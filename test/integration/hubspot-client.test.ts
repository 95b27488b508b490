import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  createHubSpotClient,
  type HubSpotClient,
  type HubSpotClientOptions,
} from '../../src/hubspot/client.js';
import type { BatchInput, HubSpotAnswer } from '../../src/hubspot/port.js';
import { onCleanup, track } from '../helpers/resources.js';
import { freePort } from '../helpers/tools.js';

const TOKEN = 'pat-na1-11111111-2222-3333-4444-555555555555';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socketPort: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on an ephemeral port answering with `handler`; closed after the test. */
async function startServer(
  handler: Handler,
): Promise<{ url: string; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        socketPort: req.socket.remotePort ?? 0,
      });
      handler(req, res, body);
    });
  });
  server.on('connection', () => {
    connections++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const done = track('hubspot test server');
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    done();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, connections: () => connections };
}

function client(url: string, extra: Partial<HubSpotClientOptions> = {}): HubSpotClient {
  const c = createHubSpotClient({ baseUrl: url, tokenProvider: async () => TOKEN, ...extra });
  const done = track('hubspot client');
  onCleanup(() => {
    c.close();
    done();
  });
  return c;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

const inputs: BatchInput[] = [
  { id: '101', properties: { firstname: 'Ada' }, objectWriteTraceId: 't1' },
  { id: 'b@x.com', idProperty: 'email', properties: { lastname: '' }, objectWriteTraceId: 't2' },
];

function expectNoToken(value: unknown): void {
  expect(JSON.stringify(value)).not.toContain(TOKEN);
  expect(JSON.stringify(value)).not.toContain('Bearer');
}

function http(answer: HubSpotAnswer): Extract<HubSpotAnswer, { kind: 'http' }> {
  if (answer.kind !== 'http') throw new Error(`expected an HTTP answer, got ${answer.code}`);
  return answer;
}

function transport(answer: HubSpotAnswer): Extract<HubSpotAnswer, { kind: 'transport' }> {
  if (answer.kind !== 'transport') throw new Error(`expected a transport failure, got HTTP ${answer.status}`);
  return answer;
}

describe('HubSpot client over real HTTP', () => {
  it('posts the batch with the bearer token and parses body, rate-limit headers and correlation id', async () => {
    const server = await startServer((_req, res) =>
      json(
        res,
        200,
        { status: 'COMPLETE', results: [{ id: '101', properties: {} }] },
        {
          'X-HubSpot-RateLimit-Max': '190',
          'X-HubSpot-RateLimit-Remaining': '180',
          'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
          'X-HubSpot-RateLimit-Daily': '625000',
          'X-HubSpot-RateLimit-Daily-Remaining': '600000',
          'X-HubSpot-RateLimit-Secondly': 'n/a',
          'X-HubSpot-Correlation-Id': 'corr-123',
        },
      ),
    );
    const sent = inputs.map((i) => ({ ...i, internal: 'not for HubSpot' }));
    const answer = http(
      await client(server.url).batchUpdate({ account: 'acme', objectType: 'contacts', inputs: sent }),
    );
    expect(answer).toMatchObject({
      status: 200,
      body: { status: 'COMPLETE', results: [{ id: '101', properties: {} }] },
      rateLimit: { max: 190, remaining: 180, intervalMs: 10000, daily: 625000, dailyRemaining: 600000 },
      correlationId: 'corr-123',
    });
    expect(answer.rateLimit.secondly).toBeUndefined();
    expect(answer.retryAfterMs).toBeUndefined();
    expect(answer.latencyMs).toBeGreaterThan(0);
    const [req] = server.seen;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/crm/objects/2026-03/contacts/batch/update');
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(req?.body ?? '')).toEqual({ inputs });
    expectNoToken(answer);
  });

  it('encodes the object type, keeps a base path, and supports the v3 routes', async () => {
    const server = await startServer((_req, res) => json(res, 200, { results: [] }));
    await client(`${server.url}/proxy/`).batchUpdate({ account: 'a', objectType: '2-12345', inputs });
    await client(server.url).batchUpdate({ account: 'a', objectType: 'we ird/type', inputs });
    await client(server.url).getProperties('a', 'contacts');
    await client(server.url, { apiVersionPath: 'v3' }).batchUpdate({
      account: 'a',
      objectType: 'deals',
      inputs,
    });
    await client(server.url, { apiVersionPath: 'v3' }).getProperties('a', 'deals');
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /proxy/crm/objects/2026-03/2-12345/batch/update',
      'POST /crm/objects/2026-03/we%20ird%2Ftype/batch/update',
      'GET /crm/properties/2026-03/contacts',
      'POST /crm/v3/objects/deals/batch/update',
      'GET /crm/v3/properties/deals',
    ]);
    expect(server.seen[2]?.body).toBe('');
  });

  it('returns the property list of getProperties', async () => {
    const list = { results: [{ name: 'firstname', type: 'string' }] };
    const server = await startServer((_req, res) => json(res, 200, list));
    expect(http(await client(server.url).getProperties('a', 'contacts')).body).toEqual(list);
  });

  it('reads Retry-After as seconds or as an HTTP date', async () => {
    let retryAfter = '3';
    const server = await startServer((_req, res) =>
      json(res, 477, { status: 'error', message: 'Migration in progress' }, { 'Retry-After': retryAfter }),
    );
    const c = client(server.url);
    expect(http(await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs })).retryAfterMs).toBe(
      3000,
    );
    retryAfter = new Date(Date.now() + 60_000).toUTCString();
    const fromDate = http(await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs })).retryAfterMs;
    expect(fromDate).toBeGreaterThan(55_000);
    expect(fromDate).toBeLessThanOrEqual(60_000);
    retryAfter = 'later';
    expect(
      http(await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs })).retryAfterMs,
    ).toBeUndefined();
  });

  it('returns a 429 with its body and headers', async () => {
    const body = {
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: 'c-429',
      policyName: 'TEN_SECONDLY_ROLLING',
      groupName: 'publicapi:private-app-api-calls:1:2',
    };
    const server = await startServer((_req, res) =>
      json(res, 429, body, { 'X-HubSpot-RateLimit-Remaining': '0', 'X-HubSpot-RateLimit-Max': '100' }),
    );
    const answer = http(
      await client(server.url).batchUpdate({ account: 'a', objectType: 'contacts', inputs }),
    );
    expect(answer).toMatchObject({ status: 429, body, rateLimit: { remaining: 0, max: 100 } });
  });

  it('keeps a gateway HTML body as text', async () => {
    const html = '<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>';
    const server = await startServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(html);
    });
    const answer = http(
      await client(server.url).batchUpdate({ account: 'a', objectType: 'contacts', inputs }),
    );
    expect(answer).toMatchObject({ status: 502, body: html });
  });

  it('keeps broken JSON as text and an empty body as an empty string', async () => {
    let payload = '{"status": "COMPL';
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(payload);
    });
    const c = client(server.url);
    expect(http(await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs })).body).toBe(payload);
    payload = '';
    expect(http(await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs })).body).toBe('');
  });

  it('does not follow redirects', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    const answer = http(
      await client(server.url).batchUpdate({ account: 'a', objectType: 'contacts', inputs }),
    );
    expect(answer.status).toBe(302);
    expect(server.seen).toHaveLength(1);
  });

  it('reports once when the request left, after a slow token provider, before the answer', async () => {
    const server = await startServer((_req, res) => json(res, 200, { status: 'COMPLETE', results: [] }));
    let tokenReadyAt = 0;
    const c = client(server.url, {
      tokenProvider: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        tokenReadyAt = Date.now();
        return TOKEN;
      },
    });
    const sent: number[] = [];
    const answer = http(
      await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs, onSent: (at) => sent.push(at) }),
    );
    const answeredAt = Date.now();
    expect(answer.status).toBe(200);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeGreaterThanOrEqual(tokenReadyAt);
    expect(sent[0]).toBeLessThanOrEqual(answeredAt);
    expect(server.seen).toHaveLength(1);
  });

  it('does not report a request that never left, and a failing callback does not break the call', async () => {
    const port = await freePort();
    const sent: number[] = [];
    const refused = transport(
      await client(`http://127.0.0.1:${port}`).batchUpdate({
        account: 'a',
        objectType: 'contacts',
        inputs,
        onSent: (at) => sent.push(at),
      }),
    );
    expect(refused.code).toBe('CONNECTION_REFUSED');
    expect(sent).toEqual([]);

    const server = await startServer((_req, res) => json(res, 200, { status: 'COMPLETE', results: [] }));
    const answer = http(
      await client(server.url).batchUpdate({
        account: 'a',
        objectType: 'contacts',
        inputs,
        onSent: () => {
          throw new Error('metrics broke');
        },
      }),
    );
    expect(answer.status).toBe(200);
  });

  it('still times out a silent server when the departure is reported', async () => {
    const server = await startServer(() => {});
    const sent: number[] = [];
    const answer = transport(
      await client(server.url, { timeoutMs: 200 }).batchUpdate({
        account: 'a',
        objectType: 'contacts',
        inputs,
        onSent: (at) => sent.push(at),
      }),
    );
    expect(answer.code).toBe('TIMEOUT');
    expect(sent).toHaveLength(1);
  });

  it('reuses the connection between calls (keep-alive)', async () => {
    const server = await startServer((_req, res) => json(res, 200, { status: 'COMPLETE', results: [] }));
    const c = client(server.url);
    for (let i = 0; i < 3; i++) await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs });
    expect(server.connections()).toBe(1);
  });

  it('maps a connection destroyed before any answer to CONNECTION_RESET', async () => {
    const server = await startServer((req) => req.socket.destroy());
    const answer = transport(
      await client(server.url).batchUpdate({ account: 'a', objectType: 'contacts', inputs }),
    );
    expect(answer.code).toBe('CONNECTION_RESET');
    expect(answer.message).toMatch(
      /^CONNECTION_RESET: POST \/crm\/objects\/2026-03\/contacts\/batch\/update failed/,
    );
    expectNoToken(answer);
  });

  it('maps a connection destroyed mid-body to CONNECTION_RESET', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"status":"COMPLETE","results":[');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const answer = transport(
      await client(server.url).batchUpdate({ account: 'a', objectType: 'contacts', inputs }),
    );
    expect(answer.code).toBe('CONNECTION_RESET');
  });

  it('maps a refused connection to CONNECTION_REFUSED', async () => {
    const port = await freePort();
    const answer = transport(
      await client(`http://127.0.0.1:${port}`).batchUpdate({ account: 'a', objectType: 'contacts', inputs }),
    );
    expect(answer.code).toBe('CONNECTION_REFUSED');
    expect(answer.message).toContain('ECONNREFUSED');
    expectNoToken(answer);
  });

  it('maps a server that never answers to TIMEOUT', async () => {
    const server = await startServer(() => {});
    const started = Date.now();
    const answer = transport(
      await client(server.url, { timeoutMs: 200 }).batchUpdate({
        account: 'a',
        objectType: 'contacts',
        inputs,
      }),
    );
    expect(answer.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer.latencyMs).toBeGreaterThanOrEqual(150);
    expectNoToken(answer);
  });

  it('times out a body that trickles in past the deadline', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    const answer = transport(
      await client(server.url, { timeoutMs: 300 }).batchUpdate({
        account: 'a',
        objectType: 'contacts',
        inputs,
      }),
    );
    expect(answer.code).toBe('TIMEOUT');
  });

  it('maps an abort through the signal to ABORTED', async () => {
    const server = await startServer(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const answer = transport(
      await client(server.url).batchUpdate({
        account: 'a',
        objectType: 'contacts',
        inputs,
        signal: controller.signal,
      }),
    );
    expect(answer.code).toBe('ABORTED');
  });

  it('does not call HubSpot with an already aborted signal', async () => {
    const server = await startServer((_req, res) => json(res, 200, {}));
    const answer = transport(await client(server.url).getProperties('a', 'contacts', AbortSignal.abort()));
    expect(answer.code).toBe('ABORTED');
    expect(server.seen).toHaveLength(0);
  });

  it('maps an oversized response to NETWORK_ERROR', async () => {
    const server = await startServer((_req, res) => json(res, 200, { big: 'x'.repeat(10_000) }));
    const answer = transport(
      await client(server.url, { maxResponseBytes: 1000 }).getProperties('a', 'contacts'),
    );
    expect(answer.code).toBe('NETWORK_ERROR');
  });

  it('never returns or logs the token, even when the server echoes it', async () => {
    const server = await startServer((req, res) =>
      json(
        res,
        401,
        {
          status: 'error',
          message: `bad token ${req.headers.authorization}`,
          category: 'INVALID_AUTHENTICATION',
        },
        {
          'X-Echo': String(req.headers.authorization),
        },
      ),
    );
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const c = client(server.url, { logger });
    const answer = http(await c.batchUpdate({ account: 'a', objectType: 'contacts', inputs }));
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ message: 'bad token Bearer [REDACTED]' });
    expect(JSON.stringify(answer)).not.toContain(TOKEN);
    const reset = await startServer((req) => req.socket.destroy());
    const failed = await client(reset.url, { logger }).batchUpdate({
      account: 'a',
      objectType: 'contacts',
      inputs,
    });
    expect(JSON.stringify(failed)).not.toContain(TOKEN);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('reports a failing token provider without its details', async () => {
    const server = await startServer((_req, res) => json(res, 200, {}));
    const failing = client(server.url, {
      tokenProvider: async () => {
        throw Object.assign(new Error(`refresh failed with client_secret=${TOKEN}`), {
          code: 'ERR_BAD_REQUEST',
        });
      },
    });
    const error = await failing
      .batchUpdate({ account: 'acme', objectType: 'contacts', inputs })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOKEN_UNAVAILABLE', account: 'acme' });
    expect((error as Error).message).toBe('token provider failed for account "acme" (Error ERR_BAD_REQUEST)');
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect(server.seen).toHaveLength(0);
  });

  it('rejects unusable options', () => {
    const tokenProvider = async () => TOKEN;
    expect(() => createHubSpotClient({ baseUrl: 'api.hubapi.com', tokenProvider })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => createHubSpotClient({ baseUrl: 'ftp://x', tokenProvider })).toThrow(/http/);
    expect(() => createHubSpotClient({ baseUrl: 'http://x', tokenProvider, timeoutMs: 0 })).toThrow(
      /timeoutMs/,
    );
    expect(() => createHubSpotClient({ baseUrl: 'http://x', tokenProvider, apiVersionPath: 'a/b' })).toThrow(
      /apiVersionPath/,
    );
  });
});
