import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TOKEN, testProducer, testQueue, testSimulator, testWorker } from '../helpers/pipeline.js';

/** Every series of metrics labelled by account or object type, as `name{labels}`. */
async function labelledSeries(
  registry: Registry,
): Promise<{ series: Set<string>; accounts: Set<string>; types: Set<string> }> {
  const series = new Set<string>();
  const accounts = new Set<string>();
  const types = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const labels = v.labels as Record<string, string | number | undefined>;
      if (labels.account === undefined && labels.object_type === undefined) continue;
      if (labels.account !== undefined) accounts.add(String(labels.account));
      if (labels.object_type !== undefined) types.add(String(labels.object_type));
      // Histogram buckets of one series share its labels but for `le`.
      const { le: _le, ...own } = labels;
      series.add(`${metric.name}${JSON.stringify(own)}`);
    }
  }
  return { series, accounts, types };
}

describe('metric labels', () => {
  it('stay bounded when producers name 300 unknown accounts and 80 object types', async () => {
    const sim = await testSimulator({
      portals: { [TOKEN]: { portalId: 'labels', maxRequests: 1000, windowMs: 1000 } },
    });
    const queue = testQueue('labels');
    const producer = testProducer(queue);
    const bogus = Array.from({ length: 300 }, (_, i) => ({
      account: `acct-${i}`,
      objectType: `t${i % 100}`,
      id: String(i),
      properties: { firstname: 'Ada' },
    }));
    // The configured account writes to 80 object types the portal does not have (each call answers 404).
    const unknownTypes = Array.from({ length: 80 }, (_, i) => ({
      objectType: `type${i}`,
      id: String(i),
      properties: { firstname: 'Ada' },
    }));
    const ids = (await producer.enqueueMany([...bogus, ...unknownTypes])).map((r) => r.objectWriteTraceId);
    const registry = new Registry();
    await testWorker(queue, sim, {
      registry,
      validateProperties: false,
      accounts: { default: { token: TOKEN, maxRequests: 1000, windowMs: 1000 } },
    });
    const outcomes = await producer.waitForOutcomes(ids, { timeoutMs: 60_000 });
    expect(outcomes.slice(0, 300).every((o) => o.error?.category === 'ACCOUNT_NOT_CONFIGURED')).toBe(true);
    expect(outcomes.slice(300).every((o) => o.status === 'failed')).toBe(true);

    const { series, accounts, types } = await labelledSeries(registry);
    expect([...accounts].sort()).toEqual(['default', 'unconfigured']);
    expect(types.size).toBeLessThanOrEqual(51);
    expect(types).toContain('other');
    expect([...types].filter((t) => t.startsWith('t') && /^t\d+$/.test(t))).toEqual([]);
    // Per metric at most (50 object types + other) × 2 accounts × a few statuses; unbounded input gave 1,500+.
    expect(series.size).toBeLessThan(500);
    // Gauges per account cover configured accounts only.
    const paused = (await registry.getSingleMetric('hbq_account_paused')?.get())?.values ?? [];
    expect(new Set(paused.map((v) => v.labels.account))).toEqual(new Set(['default']));
  });
});
