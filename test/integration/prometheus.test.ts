/**
 * The worker's /metrics checked by Prometheus's own tools: `promtool check metrics` on a live exposition, and
 * a real Prometheus server (Debian package `prometheus`) that scrapes a running worker, evaluates
 * deploy/prometheus/alerts.yml against it, and answers queries through its HTTP API.
 * (`promtool check rules` on alerts.yml itself is in deploy.test.ts.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.js';
import { spawnWorker, TOKEN, testProducer, testQueue, testSimulator, waitFor } from '../helpers/pipeline.js';
import { onCleanup, track } from '../helpers/resources.js';
import { describeWithPrograms, freePort } from '../helpers/tools.js';

const ALERTS = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url));
const UPDATES = 25;

const batchCalls = (sim: Simulator) => sim.calls().filter((c) => c.path.endsWith('/batch/update'));

/** A worker process that has sent a few batches to the simulator; resolves with its metrics address. */
async function workerWithTraffic(): Promise<{ metricsUrl: string; port: number; calls: number }> {
  const sim = await testSimulator();
  const objects = Array.from({ length: UPDATES }, (_, i) => ({ id: String(5000 + i), properties: {} }));
  sim.createObjects(TOKEN, 'contacts', objects);
  const queue = testQueue('prom');
  const producer = testProducer(queue);
  const port = await freePort();
  spawnWorker({
    QUEUE_NAME: queue,
    HUBSPOT_ACCESS_TOKEN: TOKEN,
    HUBSPOT_BASE_URL: sim.url,
    METRICS_PORT: String(port),
    METRICS_HOST: '127.0.0.1',
    // Several small batches, so the counters and histograms have more than one observation.
    BATCH_MAX_SIZE: '10',
    BATCH_LINGER_MS: '20',
  });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
    { what: 'worker ready', intervalMs: 50 },
  );
  const results = await producer.enqueueMany(
    objects.map((o) => ({ objectType: 'contacts', id: o.id, properties: { firstname: `n${o.id}` } })),
  );
  const outcomes = await producer.waitForOutcomes(
    results.map((r) => r.objectWriteTraceId),
    { timeoutMs: 30_000 },
  );
  expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
  const calls = batchCalls(sim).length;
  expect(calls).toBeGreaterThanOrEqual(Math.ceil(UPDATES / 10));
  return { metricsUrl, port, calls };
}

/** Starts `prometheus` scraping one target every second; stopped and its data removed after the test. */
async function startPrometheus(target: string): Promise<{ api: string; output: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hbq-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  // The job name is the one the alert rules select (see deploy/prometheus/prometheus.yml).
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(ALERTS)}`,
      'scrape_configs:',
      '  - job_name: hbq-worker',
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: [${JSON.stringify(target)}]`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const done = track('prometheus');
  const exited = once(child, 'exit');
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
    done();
  });
  return { api: `http://127.0.0.1:${port}/api/v1`, output: () => output };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(api: string, promql: string): Promise<Sample[]> {
  const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
  if (!res?.ok) return [];
  const body = (await res.json()) as { status: string; data?: { resultType: string; result: Sample[] } };
  return body.status === 'success' && body.data?.resultType === 'vector' ? body.data.result : [];
}

describeWithPrograms('metrics checked by Prometheus', { promtool: 'apt-get install prometheus' }, () => {
  it('promtool check metrics passes on a worker’s /metrics after real traffic', async () => {
    const { metricsUrl, calls } = await workerWithTraffic();
    const body = await (await fetch(metricsUrl)).text();
    expect(body).toMatch(
      new RegExp(
        `^hbq_hubspot_calls_total\\{account="default",object_type="contacts",status="200"\\} ${calls}$`,
        'm',
      ),
    );
    expect(body).toMatch(/^hbq_batch_size_bucket\{/m);
    expect(body).toMatch(/^hbq_queue_depth\{state="waiting"\}/m);
    const check = spawnSync('promtool', ['check', 'metrics'], {
      input: body,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(check.status, `promtool check metrics:\n${check.stdout}${check.stderr}`).toBe(0);
  });
});

describeWithPrograms(
  'a real Prometheus scraping a worker',
  { prometheus: 'apt-get install prometheus' },
  () => {
    it('reads hbq_hubspot_calls_total back through the HTTP API and evaluates the alert rules', async () => {
      const { port, calls } = await workerWithTraffic();
      const prometheus = await startPrometheus(`127.0.0.1:${port}`);

      let series: Sample[] = [];
      await waitFor(
        async () => {
          series = await query(prometheus.api, 'hbq_hubspot_calls_total');
          return series.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `a scraped series (prometheus: ${prometheus.output()})` },
      );
      expect(series).toHaveLength(1);
      expect(series[0]?.metric).toMatchObject({
        __name__: 'hbq_hubspot_calls_total',
        job: 'hbq-worker',
        instance: `127.0.0.1:${port}`,
        account: 'default',
        object_type: 'contacts',
        status: '200',
      });
      expect(Number(series[0]?.value[1])).toBe(calls);

      const [up] = await query(prometheus.api, 'up{job="hbq-worker"}');
      expect(up?.value[1]).toBe('1');

      // The rules of deploy/prometheus/alerts.yml load and evaluate against the worker's real series; the
      // recording rule yields the backlog, which is empty once every update has an outcome.
      await waitFor(
        async () => {
          const res = await fetch(`${prometheus.api}/rules`);
          const body = (await res.json()) as {
            data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
          };
          const rules = body.data.groups.flatMap((g) => g.rules);
          const bad = rules.filter((r) => r.health === 'err');
          expect(bad, JSON.stringify(bad)).toEqual([]);
          return rules.length > 5 && rules.every((r) => r.health === 'ok');
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'every rule evaluated' },
      );
      await waitFor(async () => (await query(prometheus.api, 'hbq:queue_backlog'))[0]?.value[1] === '0', {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'hbq:queue_backlog == 0',
      });
    });
  },
);
