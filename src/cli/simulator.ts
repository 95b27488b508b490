import {
  HUBSPOT_BATCH_LATENCY,
  type LatencySpec,
  resolveLatency,
  type SimulatorOptions,
  startSimulator,
} from '../simulator/index.js';
import { EXIT_USAGE, integerFlag, parseCommandArgs, textFlag, UsageError } from './usage.js';

/** One line per option of the `simulator` command, for its help and the CLI's usage text. */
export const SIMULATOR_OPTION_LINES = [
  '--port N                 port to listen on (default 8089; 0 = random)',
  '--host HOST              address to bind (default 127.0.0.1)',
  '--seed N                 PRNG seed for faults, latency and result order (default 1)',
  '--echo-trace-ids         echo objectWriteTraceId in results (HubSpot omits it)',
  '--latency-ms N           added latency per API call (fixed; same as --latency N)',
  '--latency SPEC           N | uniform:MIN-MAX | longtail:median=MS,p99=MS,max=MS[,min=MS] | hubspot',
  '                         (hubspot = longtail:median=200,p99=1500,max=2000,min=50)',
  '--max-requests N         per-portal rolling-window limit (default 100)',
  '--window-ms N            rolling window length (default 10000)',
  '--daily-limit N|none     per-portal daily limit (default 250000)',
  '--daily-reset-offset MIN account time zone, minutes east of UTC (-720..840; west: =-300): the daily limit',
  '                         resets at its local midnight (default 0 = midnight UTC)',
  '--clock-offset-ms N      run the simulator clock N ms ahead of the host (behind: --clock-offset-ms=-N)',
  '--retry-after-on-429     send Retry-After on 429s (HubSpot does not, as observed)',
  '--seed-objects LIST      objects per portal, e.g. contacts=1000,companies=200',
  '--auto-create            create objects that updates name but do not exist',
  '--help                   show this help',
] as const;

const USAGE = `usage: hubspot-batch-queue simulator [options]\n${SIMULATOR_OPTION_LINES.map((l) => `  ${l}`).join('\n')}`;

function seedObjects(value: string | undefined): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  const counts: Record<string, number> = {};
  for (const part of value.split(',').filter(Boolean)) {
    const [type, count] = part.split('=');
    if (!type?.trim() || count === undefined)
      throw new UsageError(`--seed-objects expects type=count pairs, got "${part}"`);
    counts[type.trim()] = integerFlag('seed-objects', count.trim(), 0) ?? 0;
  }
  return counts;
}

const MS = /^\d+$/;

function latencyError(value: string, why: string): UsageError {
  return new UsageError(
    `--latency expects N, uniform:MIN-MAX, longtail:median=MS,p99=MS,max=MS[,min=MS] or hubspot (${why}), got "${value}"`,
  );
}

/** The latency flag's spec, checked as the simulator will check it; throws {@link UsageError} naming it. */
export function latencyFlag(value: string | undefined): LatencySpec | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let spec: LatencySpec;
  if (text === 'hubspot') spec = { ...HUBSPOT_BATCH_LATENCY };
  else if (MS.test(text)) spec = Number(text);
  else if (text.startsWith('uniform:')) {
    const bounds = /^(\d+)-(\d+)$/.exec(text.slice('uniform:'.length));
    if (!bounds) throw latencyError(value, 'uniform takes MIN-MAX in ms');
    spec = { kind: 'uniform', minMs: Number(bounds[1]), maxMs: Number(bounds[2]) };
  } else if (text.startsWith('longtail:')) {
    const params: Record<string, number> = {};
    for (const part of text.slice('longtail:'.length).split(',')) {
      const [, key, ms] = /^(median|p99|max|min)=(\d+)$/.exec(part) ?? [];
      if (key === undefined || ms === undefined || key in params) {
        throw latencyError(value, `bad longtail parameter "${part}"`);
      }
      params[key] = Number(ms);
    }
    const { median, p99, max, min } = params;
    if (median === undefined || p99 === undefined || max === undefined) {
      throw latencyError(value, 'longtail needs median, p99 and max');
    }
    spec = {
      kind: 'longTail',
      medianMs: median,
      p99Ms: p99,
      maxMs: max,
      ...(min === undefined ? {} : { minMs: min }),
    };
  } else throw latencyError(value, 'unknown form');
  try {
    resolveLatency(spec, 'latency');
  } catch (error) {
    if (error instanceof RangeError) throw latencyError(value, error.message);
    throw error;
  }
  return spec;
}

/** Turns command-line arguments into simulator options; throws {@link UsageError} naming a bad flag or value. */
export function parseSimulatorArgs(args: string[]): SimulatorOptions | 'help' {
  const { values } = parseCommandArgs(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    seed: { type: 'string' },
    'echo-trace-ids': { type: 'boolean' },
    'latency-ms': { type: 'string' },
    'max-requests': { type: 'string' },
    'window-ms': { type: 'string' },
    'daily-limit': { type: 'string' },
    'daily-reset-offset': { type: 'string' },
    'clock-offset-ms': { type: 'string' },
    'retry-after-on-429': { type: 'boolean' },
    latency: { type: 'string' },
    'seed-objects': { type: 'string' },
    'auto-create': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const dailyLimit =
    values['daily-limit'] === 'none' ? null : integerFlag('daily-limit', values['daily-limit'], 1);
  const defaultRateLimit: NonNullable<SimulatorOptions['defaultRateLimit']> = {};
  const maxRequests = integerFlag('max-requests', values['max-requests'], 1);
  const windowMs = integerFlag('window-ms', values['window-ms'], 1);
  if (maxRequests !== undefined) defaultRateLimit.maxRequests = maxRequests;
  if (windowMs !== undefined) defaultRateLimit.windowMs = windowMs;
  if (dailyLimit !== undefined) defaultRateLimit.dailyLimit = dailyLimit;
  const resetOffset = integerFlag('daily-reset-offset', values['daily-reset-offset'], -720);
  if (resetOffset !== undefined) {
    if (resetOffset > 840) {
      throw new UsageError(`--daily-reset-offset expects minutes from -720 to 840, got "${resetOffset}"`);
    }
    defaultRateLimit.dailyResetUtcOffsetMinutes = resetOffset;
  }
  const options: SimulatorOptions = {
    port: integerFlag('port', values.port, 0) ?? 8089,
    echoTraceIds: values['echo-trace-ids'] ?? false,
    autoCreate: values['auto-create'] ?? false,
    defaultRateLimit,
  };
  if (values['retry-after-on-429']) options.retryAfterOn429 = true;
  const clockOffset = integerFlag('clock-offset-ms', values['clock-offset-ms'], Number.MIN_SAFE_INTEGER);
  if (clockOffset !== undefined) options.clockOffsetMs = clockOffset;
  const host = textFlag('host', values.host);
  if (host !== undefined) options.host = host;
  const seed = integerFlag('seed', values.seed, 0);
  if (seed !== undefined) options.seed = seed;
  if (values['latency-ms'] !== undefined && values.latency !== undefined) {
    throw new UsageError('--latency-ms and --latency are one setting: give one of them');
  }
  const latency = integerFlag('latency-ms', values['latency-ms'], 0) ?? latencyFlag(values.latency);
  if (latency !== undefined) options.latencyMs = latency;
  const seeds = seedObjects(values['seed-objects']);
  if (seeds !== undefined) options.seedObjects = seeds;
  return options;
}

/** Where the command writes and what stops it; tests replace the process-wide defaults. */
export interface SimulatorCommandIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Stops the simulator like SIGINT/SIGTERM do. */
  signal?: AbortSignal;
}

/**
 * `hubspot-batch-queue simulator`: runs the simulator until SIGINT or SIGTERM (or `io.signal`), then closes it
 * and resolves 0; {@link EXIT_USAGE} (64) for bad arguments, naming the flag or value.
 */
export async function runSimulator(args: string[], io: SimulatorCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => process.stderr.write(text));
  let options: SimulatorOptions | 'help';
  try {
    options = parseSimulatorArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`simulator: ${error.message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (options === 'help') {
    stdout(`${USAGE}\n`);
    return 0;
  }
  const sim = await startSimulator(options);
  stdout(`simulator listening on ${sim.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop);
  });
  await sim.close();
  return 0;
}
