import { describe, expect, it } from 'vitest';
import { accountsOf, ConfigError, loadConfig } from '../../src/config.js';

describe('daily reset offset configuration', () => {
  it('gives every account the DAILY_RESET_UTC_OFFSET_MINUTES default unless its HUBSPOT_ACCOUNTS entry sets its own', () => {
    const accounts = accountsOf(
      loadConfig({
        HUBSPOT_ACCESS_TOKEN: 'pat-default',
        HUBSPOT_ACCOUNTS: JSON.stringify({
          ny: { token: 'pat-ny', dailyResetUtcOffsetMinutes: -300 },
          plain: 'pat-plain',
        }),
        DAILY_RESET_UTC_OFFSET_MINUTES: '330',
      }),
    );
    expect(
      Object.fromEntries([...accounts].map(([name, a]) => [name, a.dailyResetUtcOffsetMinutes])),
    ).toEqual({
      default: 330,
      ny: -300,
      plain: 330,
    });
    expect(
      accountsOf(loadConfig({ HUBSPOT_ACCESS_TOKEN: 'pat' })).get('default')?.dailyResetUtcOffsetMinutes,
    ).toBe(0);
  });

  it('refuses offsets that are no time zone’s, naming the variable', () => {
    for (const value of ['900', '-721', '1.5', 'east']) {
      expect(() => loadConfig({ DAILY_RESET_UTC_OFFSET_MINUTES: value })).toThrow(ConfigError);
      try {
        loadConfig({ DAILY_RESET_UTC_OFFSET_MINUTES: value });
      } catch (error) {
        expect((error as ConfigError).problems.join('\n')).toContain('DAILY_RESET_UTC_OFFSET_MINUTES');
      }
    }
    const accounts = JSON.stringify({ a: { token: 't', dailyResetUtcOffsetMinutes: 841 } });
    expect(() => loadConfig({ HUBSPOT_ACCOUNTS: accounts })).toThrow(/HUBSPOT_ACCOUNTS/);
  });
});
