import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('HUBSPOT_API_VERSION', () => {
  it('defaults to 2026-03 and takes any date version, or v3', () => {
    expect(loadConfig({}).HUBSPOT_API_VERSION).toBe('2026-03');
    expect(loadConfig({ HUBSPOT_API_VERSION: '2026-09' }).HUBSPOT_API_VERSION).toBe('2026-09');
    expect(loadConfig({ HUBSPOT_API_VERSION: 'v3' }).HUBSPOT_API_VERSION).toBe('v3');
  });

  it.each(['2026-13', '26-09', '2026-09/../x', 'latest'])('refuses %s, naming the variable', (value) => {
    try {
      loadConfig({ HUBSPOT_API_VERSION: value });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toContain('HUBSPOT_API_VERSION');
      expect((error as ConfigError).problems.join('\n')).toContain('YYYY-MM');
    }
  });
});
