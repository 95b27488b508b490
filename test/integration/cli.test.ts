import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '../../src/keys.js';
import { deadLetterQueue, operatorFailed, unroutableFailed } from '../helpers/dead-letters.js';
import { runCli, spawnWorker, testProducer, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { testRedis } from '../helpers/resources.js';

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
    const result = await runCli(['enqueue', file], { QUEUE_NAME: queue });
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
    const enq = await runCli(
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

    const res = await runCli(['outcomes'], { QUEUE_NAME: queue }, `${enq.stdout}never-seen\n`);
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
    const result = await runCli(['enqueue', file], { QUEUE_NAME: queue });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^line 2: properties\.notes: must be at most 65536 characters long$/m);
    expect(result.stderr).toMatch(/^line 3: properties: must name at most 1000 properties \(names 10000\)$/m);
    expect(result.stderr).toMatch(/^line 4: properties\.firstname: must be well-formed Unicode/m);
    expect(result.stderr).toMatch(/^line 5: objectType: must be an object type name/m);
    expect(result.stderr).toMatch(/4 invalid line\(s\); nothing was enqueued/);
    expect(await testRedis().exists(queueKeys(queue).wait)).toBe(0);

    // The limits come from UPDATE_MAX_VALUE_LENGTH / UPDATE_MAX_PROPERTIES.
    const small = await runCli(
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
    const first = await runCli(
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
    const refused = await runCli(
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
    // Taken in at once: counted pending.
    expect(await redis.hget(queueKeys(queue).stats, 'pending')).toBe('1');

    // The same update again (same trace id, same content) is reported as a duplicate, not dropped silently.
    const again = await runCli(
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
    expect(await redis.hget(queueKeys(queue).stats, 'pending')).toBe('2');
  });

  it('enqueue refuses arguments it does not understand (exit 64)', async () => {
    const unknown = await runCli(['enqueue', '--dry-run'], {});
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/^enqueue: .*--dry-run/);
    const extra = await runCli(['enqueue', 'a.ndjson', 'b.ndjson'], {});
    expect(extra.code).toBe(64);
    expect(extra.stderr).toMatch(/^enqueue: unexpected argument "b\.ndjson"/);
  });

  it('stops at start-up naming a bad variable and what it expects', async () => {
    const bad = await runCli(['worker'], {
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
    const enq = await runCli(
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
    const res = await runCli(['outcomes'], { QUEUE_NAME: queue }, enq.stdout);
    expect(JSON.parse(res.stdout.trim())).toMatchObject({ status: 'succeeded' });
  });

  describe('operator commands refuse what they do not understand (exit 64) and report real counts', () => {
    const updates = (account: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        account,
        objectType: 'contacts',
        id: String(i + 1),
        properties: { firstname: `n${i}` },
      }));
    const traceIdsOf = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { objectWriteTraceId: string }).objectWriteTraceId)
        .sort();

    it('retry-failed with a misspelt flag names it and replays nothing', async () => {
      const queue = testQueue('cli-typo');
      const q = deadLetterQueue(queue);
      await operatorFailed(queue, q, [...updates('a', 2), ...updates('b', 1)]);

      const res = await runCli(['retry-failed', '--acount', 'a'], { QUEUE_NAME: queue });
      expect(res.code).toBe(64);
      expect(res.stderr).toContain('unknown flag "--acount"');
      expect(res.stderr).toContain('usage: hubspot-batch-queue retry-failed');
      expect(res.stdout).toBe('');
      expect(await q.redis.zcard(q.keys.failed)).toBe(3);
      expect(await q.redis.llen(q.keys.wait)).toBe(0);
    });

    it('failed with a malformed --limit names the flag and the value', async () => {
      const queue = testQueue('cli-limit');
      const q = deadLetterQueue(queue);
      await operatorFailed(queue, q, updates('a', 2));

      const res = await runCli(['failed', '--limit', 'ten'], { QUEUE_NAME: queue });
      expect(res.code).toBe(64);
      expect(res.stderr).toContain('--limit expects an integer of at least 1, got "ten"');
      expect(res.stdout).toBe('');
      const ok = await runCli(['failed', '--limit', '1'], { QUEUE_NAME: queue });
      expect(ok.code).toBe(0);
      expect(ok.stdout.trim().split('\n')).toHaveLength(1);
    });

    it('retry-failed needs a filter or --all; --dry-run changes nothing; the replay prints what it put back', async () => {
      const queue = testQueue('cli-retry');
      const q = deadLetterQueue(queue);
      const a = await operatorFailed(queue, q, updates('a', 2));
      const b = await operatorFailed(queue, q, updates('b', 1));

      const bare = await runCli(['retry-failed'], { QUEUE_NAME: queue });
      expect(bare.code).toBe(64);
      expect(bare.stderr).toMatch(/--all/);
      const both = await runCli(['retry-failed', '--all', '--account', 'a'], { QUEUE_NAME: queue });
      expect(both.code).toBe(64);
      expect(await q.redis.zcard(q.keys.failed)).toBe(3);

      const dry = await runCli(['retry-failed', '--account', 'a', '--dry-run'], { QUEUE_NAME: queue });
      expect(dry.code).toBe(0);
      expect(traceIdsOf(dry.stdout)).toEqual([...a].sort());
      expect(dry.stderr).toContain('dry run: 2 failed update(s) would be put back');
      expect(await q.redis.zcard(q.keys.failed)).toBe(3);
      expect(await q.redis.llen(q.keys.wait)).toBe(0);

      const one = await runCli(['retry-failed', '--account', 'a'], { QUEUE_NAME: queue });
      expect(one.code).toBe(0);
      expect(traceIdsOf(one.stdout)).toEqual([...a].sort());
      expect(one.stderr).toContain('2 failed update(s) put back');
      const all = await runCli(['retry-failed', '--all'], { QUEUE_NAME: queue });
      expect(traceIdsOf(all.stdout)).toEqual([...b].sort());
      expect(await q.redis.zcard(q.keys.failed)).toBe(0);
      expect(await q.redis.llen(q.keys.wait)).toBe(3);
    });

    it('retry-failed --all reports only the updates it replayed, not the whole chunk', async () => {
      const queue = testQueue('cli-exact');
      const q = deadLetterQueue(queue);
      const replayable = await operatorFailed(queue, q, updates('a', 1));
      await unroutableFailed(q, 'cannot-replay');

      const res = await runCli(['retry-failed', '--all'], { QUEUE_NAME: queue });
      expect(res.code).toBe(0);
      expect(traceIdsOf(res.stdout)).toEqual(replayable);
      expect(res.stderr).toContain('1 failed update(s) put back');
      const left = await runCli(['failed'], { QUEUE_NAME: queue });
      expect(traceIdsOf(left.stdout)).toEqual(['cannot-replay']);
      // What is left cannot be replayed, and a dry run says so.
      const dry = await runCli(['retry-failed', '--all', '--dry-run'], { QUEUE_NAME: queue });
      expect(dry.stdout).toBe('');
      expect(dry.stderr).toContain('dry run: 0 failed update(s) would be put back');
    });

    it('fail-account needs --account; --dry-run counts without failing; the real run prints what it failed', async () => {
      const queue = testQueue('cli-fail-account');
      const q = deadLetterQueue(queue);
      await testProducer(queue).enqueueMany([...updates('a', 2), ...updates('b', 1)]);
      await q.store.ingest(100);

      const bare = await runCli(['fail-account'], { QUEUE_NAME: queue });
      expect(bare.code).toBe(64);
      expect(bare.stderr).toContain('--account is required');
      const typo = await runCli(['fail-account', '--account', 'a', '--dryrun'], { QUEUE_NAME: queue });
      expect(typo.code).toBe(64);
      expect(typo.stderr).toContain('unknown flag "--dryrun"');

      const dry = await runCli(['fail-account', '--account', 'a', '--dry-run'], { QUEUE_NAME: queue });
      expect(dry.code).toBe(0);
      expect(JSON.parse(dry.stdout)).toEqual({ account: 'a', dryRun: true, wouldFail: 2 });
      expect(await q.redis.zcard(q.keys.failed)).toBe(0);
      expect(await q.redis.hget(q.keys.stats, 'pending')).toBe('3');

      const real = await runCli(['fail-account', '--account', 'a'], { QUEUE_NAME: queue });
      expect(JSON.parse(real.stdout)).toEqual({ account: 'a', failed: 2 });
      expect(await q.redis.zcard(q.keys.failed)).toBe(2);
      expect(await q.redis.hget(q.keys.stats, 'pending')).toBe('1');
    });

    it('an unknown command, a stray argument or a bad simulator flag exits 64; help exits 0', async () => {
      const unknown = await runCli(['retry'], {});
      expect(unknown.code).toBe(64);
      expect(unknown.stderr).toContain('unknown command "retry"');
      expect(unknown.stderr).toContain('retry-failed');
      const stray = await runCli(['status', 'now'], {});
      expect(stray.code).toBe(64);
      expect(stray.stderr).toContain('unexpected argument "now"');
      const sim = await runCli(['simulator', '--port', 'x'], {});
      expect(sim.code).toBe(64);
      expect(sim.stderr).toContain('--port expects an integer');
      const help = await runCli(['help'], {});
      expect(help.code).toBe(0);
      for (const name of ['worker', 'enqueue', 'failed', 'retry-failed', 'fail-account', 'resume-account'])
        expect(help.stdout).toContain(`  ${name}`);
    });
  });
});
