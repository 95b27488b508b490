import { describe, expect, it } from 'vitest';
import { parseSimulatorArgs, runSimulator } from '../../src/cli/simulator.js';
import { EXIT_USAGE, UsageError } from '../../src/cli/usage.js';
import { HUBSPOT_BATCH_LATENCY } from '../../src/simulator/index.js';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

const parse = (args: string[]) => {
  const options = parseSimulatorArgs(args);
  if (options === 'help') throw new Error('expected options');
  return options;
};

describe('simulator latency flags', () => {
  it('reads every latency form', () => {
    expect(parse(['--latency-ms', '20']).latencyMs).toBe(20);
    expect(parse(['--latency', '20']).latencyMs).toBe(20);
    expect(parse(['--latency', 'uniform:5-40']).latencyMs).toEqual({ kind: 'uniform', minMs: 5, maxMs: 40 });
    expect(parse(['--latency', 'longtail:median=150,p99=1200,max=2000']).latencyMs).toEqual({
      kind: 'longTail',
      medianMs: 150,
      p99Ms: 1200,
      maxMs: 2000,
    });
    expect(parse(['--latency', 'longtail:min=40,median=150,p99=1200,max=2000']).latencyMs).toMatchObject({
      minMs: 40,
    });
    expect(parse(['--latency', 'hubspot']).latencyMs).toEqual({ ...HUBSPOT_BATCH_LATENCY });
    expect(parse([]).latencyMs).toBeUndefined();
  });

  it('refuses malformed or impossible latencies, naming the flag and the value', () => {
    for (const bad of [
      'fast',
      '-5',
      '2.5',
      'uniform:40',
      'uniform:40-5',
      'longtail:median=150,p99=1200',
      'longtail:median=150,p99=100,max=2000',
      'longtail:median=150,p99=1200,max=1000',
      'longtail:median=150,p99=1200,max=2000,mean=3',
      'longtail:median=150,median=160,p99=1200,max=2000',
      'longtail:median=1=2,p99=1200,max=2000',
    ]) {
      const message = usageError(() => parseSimulatorArgs([`--latency=${bad}`]));
      expect(message).toContain('--latency');
      expect(message).toContain(`"${bad}"`);
    }
    expect(
      usageError(() => parseSimulatorArgs(['--latency', 'longtail:median=150,p99=100,max=2000'])),
    ).toContain('p99Ms must be > latency.medianMs');
    expect(usageError(() => parseSimulatorArgs(['--latency-ms', '5', '--latency', '5']))).toContain(
      'give one of them',
    );
  });
});

describe('simulator clock and daily-reset flags', () => {
  it('reads the reset offset, the clock offset (negative with =) and Retry-After on 429s', () => {
    const options = parse(['--daily-reset-offset=-300', '--clock-offset-ms=-1500', '--retry-after-on-429']);
    expect(options.defaultRateLimit?.dailyResetUtcOffsetMinutes).toBe(-300);
    expect(options.clockOffsetMs).toBe(-1500);
    expect(options.retryAfterOn429).toBe(true);
    expect(parse(['--daily-reset-offset', '330', '--clock-offset-ms', '86400000'])).toMatchObject({
      defaultRateLimit: { dailyResetUtcOffsetMinutes: 330 },
      clockOffsetMs: 86_400_000,
    });
    const defaults = parse([]);
    expect(defaults.clockOffsetMs).toBeUndefined();
    expect(defaults.retryAfterOn429).toBeUndefined();
    expect(defaults.defaultRateLimit?.dailyResetUtcOffsetMinutes).toBeUndefined();
  });

  it('refuses offsets that are no time zone or no whole number of ms', () => {
    expect(usageError(() => parseSimulatorArgs(['--daily-reset-offset', '900']))).toContain(
      '--daily-reset-offset expects minutes from -720 to 840',
    );
    expect(usageError(() => parseSimulatorArgs(['--daily-reset-offset=-721']))).toContain(
      '--daily-reset-offset',
    );
    expect(usageError(() => parseSimulatorArgs(['--daily-reset-offset', 'EST']))).toContain('"EST"');
    expect(usageError(() => parseSimulatorArgs(['--clock-offset-ms', '1.5']))).toContain('--clock-offset-ms');
    expect(usageError(() => parseSimulatorArgs(['--clock-offset-ms']))).toContain('--clock-offset-ms');
    expect(usageError(() => parseSimulatorArgs(['--retry-after-on-429=yes']))).toContain(
      '--retry-after-on-429',
    );
  });

  it('the command exits 64 on a bad value, naming it, and lists the new flags in its help', async () => {
    let stderr = '';
    const code = await runSimulator(['--latency', 'longtail:median=0,p99=1,max=2'], {
      stderr: (text) => {
        stderr += text;
      },
    });
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain('--latency');
    expect(stderr).toContain('medianMs must be > 0');
    let stdout = '';
    expect(await runSimulator(['--help'], { stdout: (text) => (stdout += text) })).toBe(0);
    for (const flag of [
      '--latency SPEC',
      '--daily-reset-offset MIN',
      '--clock-offset-ms N',
      '--retry-after-on-429',
    ]) {
      expect(stdout).toContain(flag);
    }
  });
});
