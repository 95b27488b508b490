import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { spawnWorker, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { redisUrl, testRedis } from '../helpers/resources.js';

const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

/** Runs the built CLI; resolves with its exit code and output instead of throwing on a non-zero exit. */
async function cli(args: string[], env: Record<string, string>, input?: string) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hbq-cli-')), name);
  writeFileSync(path, text);
  return path;
}

describe('command line', () => {
  it('enqueue names each invalid line with its reason and enqueues nothing', async () => {
    const queue = testQueue('cli-bad');
    const file = tempFile(
      'updates.ndjson',
      [
        JSON.stringify({ objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } }),
        '{not json',
        JSON.stringify({ objectType: 'contacts', properties: { firstname: 'No id' } }),
        '',
        JSON.stringify({ objectType: 'contacts', id: '2', properties: {} }),
      ].join('\n'),
    );
    const result = await cli(['enqueue', file], { QUEUE_NAME: queue });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/line 2: not valid JSON/);
    expect(result.stderr).toMatch(/line 3: id: /);
    expect(result.stderr).toMatch(/line 5: properties: must name at least one property/);
    expect(result.stderr).not.toMatch(/line 1:/);
    const redis = testRedis();
    expect(await redis.exists(queueKeys(queue).wait)).toBe(0);
  });

  it('enqueue prints one trace id per line in order; outcomes reads them back, null for unknown ids', async () => {
    const queue = testQueue('cli-good');
    const lines = [
      { objectType: 'contacts', id: '1', properties: { firstname: 'Ada' }, objectWriteTraceId: 'cli-1' },
      { objectType: 'companies', id: '9', properties: { name: 'Acme' } },
    ];
    const enq = await cli(
      ['enqueue', '-'],
      { QUEUE_NAME: queue },
      lines.map((l) => JSON.stringify(l)).join('\n'),
    );
    expect(enq.code).toBe(0);
    const out = enq.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { objectWriteTraceId: string });
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ objectWriteTraceId: 'cli-1' });
    expect(out[1]?.objectWriteTraceId).toMatch(/^[0-9a-f-]{36}$/);

    const res = await cli(['outcomes'], { QUEUE_NAME: queue }, `${enq.stdout}never-seen\n`);
    expect(res.code).toBe(0);
    const outcomes = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string } | null);
    expect(outcomes[0]).toMatchObject({
      objectWriteTraceId: 'cli-1',
      status: 'queued',
      objectType: 'contacts',
      id: '1',
    });
    expect(outcomes[1]).toMatchObject({ status: 'queued', objectType: 'companies' });
    expect(outcomes[2]).toBeNull();
  });

  it('enqueue refuses oversized updates and unpaired surrogates, naming line and field', async () => {
    const queue = testQueue('cli-limits');
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, 'v']));
    const file = tempFile(
      'updates.ndjson',
      [
        JSON.stringify({ objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } }),
        JSON.stringify({
          objectType: 'contacts',
          id: '2',
          properties: { notes: 'x'.repeat(10 * 1024 * 1024) },
        }),
        JSON.stringify({ objectType: 'contacts', id: '3', properties: many }),
        '{"objectType":"contacts","id":"4","properties":{"firstname":"Ada \\ud83d"}}',
        JSON.stringify({ objectType: '..', id: '5', properties: { firstname: 'Ada' } }),
      ].join('\n'),
    );
    const result = await cli(['enqueue', file], { QUEUE_NAME: queue });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^line 2: properties\.notes: must be at most 65536 characters long$/m);
    expect(result.stderr).toMatch(/^line 3: properties: must name at most 1000 properties \(names 10000\)$/m);
    expect(result.stderr).toMatch(/^line 4: properties\.firstname: must be well-formed Unicode/m);
    expect(result.stderr).toMatch(/^line 5: objectType: must be an object type name/m);
    expect(result.stderr).toMatch(/4 invalid line\(s\); nothing was enqueued/);
    expect(await testRedis().exists(queueKeys(queue).wait)).toBe(0);

    // The limits come from UPDATE_MAX_VALUE_LENGTH / UPDATE_MAX_PROPERTIES.
    const small = await cli(
      ['enqueue'],
      { QUEUE_NAME: queue, UPDATE_MAX_VALUE_LENGTH: '3', UPDATE_MAX_PROPERTIES: '1' },
      [
        JSON.stringify({ objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } }),
        JSON.stringify({ objectType: 'contacts', id: '2', properties: { firstname: 'Grace' } }),
        JSON.stringify({ objectType: 'contacts', id: '3', properties: { a: 1, b: 2 } }),
      ].join('\n'),
    );
    expect(small.code).toBe(1);
    expect(small.stderr).toMatch(/^line 2: properties\.firstname: must be at most 3 characters long$/m);
    expect(small.stderr).toMatch(/^line 3: properties: must name at most 1 properties \(names 2\)$/m);
    expect(small.stderr).not.toMatch(/line 1:/);
  });

  it('enqueue names lines that reuse a trace id for a different update and enqueues nothing', async () => {
    const queue = testQueue('cli-reuse');
    const ada = { objectType: 'contacts', id: '1', properties: { firstname: 'Ada' } };
    const first = await cli(
      ['enqueue'],
      { QUEUE_NAME: queue },
      JSON.stringify({ ...ada, objectWriteTraceId: 'u-1' }),
    );
    expect(first.code).toBe(0);

    const lines = [
      { ...ada, id: '2', objectWriteTraceId: 'u-2' },
      { ...ada, properties: { firstname: 'Grace' }, objectWriteTraceId: 'u-1' },
      { ...ada, id: '3', objectWriteTraceId: 'u-3' },
      { ...ada, id: '4', objectWriteTraceId: 'u-3' },
    ];
    const refused = await cli(
      ['enqueue', '-'],
      { QUEUE_NAME: queue },
      lines.map((l) => JSON.stringify(l)).join('\n'),
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^line 2: objectWriteTraceId "u-1" is already used for a different update \(by an update still in the queue\)$/m,
    );
    expect(refused.stderr).toMatch(
      /^line 4: objectWriteTraceId "u-3" is already used for a different update \(by line 3\)$/m,
    );
    expect(refused.stderr).toMatch(
      /2 line\(s\) reuse a trace id for a different update; nothing was enqueued/,
    );
    const redis = testRedis();
    expect(await redis.llen(queueKeys(queue).wait)).toBe(1);

    // The same update again (same trace id, same content) is reported as a duplicate, not dropped silently.
    const again = await cli(
      ['enqueue'],
      { QUEUE_NAME: queue },
      [
        JSON.stringify({ ...ada, objectWriteTraceId: 'u-1' }),
        JSON.stringify({ ...ada, id: '5', objectWriteTraceId: 'u-5' }),
      ].join('\n'),
    );
    expect(again.code).toBe(0);
    expect(
      again.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ objectWriteTraceId: 'u-1', duplicate: true }, { objectWriteTraceId: 'u-5' }]);
    expect(again.stderr).toMatch(/1 line\(s\) reuse a trace id for the same update/);
    expect(await redis.llen(queueKeys(queue).wait)).toBe(2);
  });

  it('enqueue refuses arguments it does not understand (exit 64)', async () => {
    const unknown = await cli(['enqueue', '--dry-run'], {});
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/^enqueue: .*--dry-run/);
    const extra = await cli(['enqueue', 'a.ndjson', 'b.ndjson'], {});
    expect(extra.code).toBe(64);
    expect(extra.stderr).toMatch(/^enqueue: unexpected argument "b\.ndjson"/);
  });

  it('stops at start-up naming a bad variable and what it expects', async () => {
    const bad = await cli(['worker'], {
      RATE_LIMIT_MAX: 'lots',
      HUBSPOT_ACCOUNTS: '{"a": 5}',
      METRICS_PORT: '0',
    });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/RATE_LIMIT_MAX: .*number/i);
    expect(bad.stderr).toMatch(/HUBSPOT_ACCOUNTS/);
  });

  it('a worker exits 0 on SIGTERM after finishing its work, and never logs its token', async () => {
    const sim = await testSimulator({ latencyMs: 300 });
    const queue = testQueue('cli-term');
    const secret = 'pat-na1-secret-token-0123456789';
    sim.createObjects(secret, 'contacts', [{ id: '1', properties: {} }]);
    const enq = await cli(
      ['enqueue', '-'],
      { QUEUE_NAME: queue },
      JSON.stringify({ objectType: 'contacts', id: '1', properties: { city: 'Oslo' } }),
    );
    const child = spawnWorker({
      QUEUE_NAME: queue,
      HUBSPOT_BASE_URL: sim.url,
      HUBSPOT_ACCESS_TOKEN: secret,
      LOG_LEVEL: 'debug',
      BATCH_LINGER_MS: '10',
    });
    await waitFor(() => sim.calls().some((c) => c.path.endsWith('/batch/update')), {
      what: 'the first call',
    });
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    const output = (child as unknown as { output: string }).output;
    expect(output).toContain('worker stopped');
    expect(output).not.toContain(secret);
    const res = await cli(['outcomes'], { QUEUE_NAME: queue }, enq.stdout);
    expect(JSON.parse(res.stdout.trim())).toMatchObject({ status: 'succeeded' });
  });
});
