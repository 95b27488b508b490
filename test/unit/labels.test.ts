import { describe, expect, it } from 'vitest';
import { MetricLabels } from '../../src/worker/labels.js';

describe('MetricLabels', () => {
  it('names only configured accounts; every other account is "unconfigured"', () => {
    const labels = new MetricLabels(['default', 'eu']);
    expect(labels.account('eu')).toBe('eu');
    expect(labels.account('acct-1')).toBe('unconfigured');
    expect(labels.of('acct-2', 'contacts')).toEqual({ account: 'unconfigured', object_type: 'other' });
    expect(labels.configuredAccounts).toEqual(['default', 'eu']);
  });

  it('admits object types first come, first served, up to the bound, then "other"', () => {
    const labels = new MetricLabels(['default'], 3);
    expect(['contacts', 'companies', 'deals', 'tickets'].map((t) => labels.objectType('default', t))).toEqual(
      ['contacts', 'companies', 'deals', 'other'],
    );
    // Admitted ones keep their name, also for other accounts; an unconfigured account admits none.
    expect(labels.objectType('nobody', 'deals')).toBe('deals');
    const fresh = new MetricLabels(['default'], 3);
    expect(fresh.objectType('nobody', 'contacts')).toBe('other');
    expect(fresh.objectType('default', 'contacts')).toBe('contacts');
  });
});
