import { type SimulatorOptions, startSimulator } from '../simulator/index.js';
import { EXIT_USAGE, integerFlag, parseCommandArgs, textFlag, UsageError } from './usage.js';

/** One line per option of the `simulator` command, for its help and the CLI's usage text. */
export const SIMULATOR_OPTION_LINES = [
  '--port N                 port to listen on (default 8089; 0 = random)',
  '--host HOST              address to bind (default 127.0.0.1)',
  '--seed N                 PRNG seed for faults, latency and result order (default 1)',
  '--echo-trace-ids         echo objectWriteTraceId in results (HubSpot omits it)',
  '--latency-ms N           added latency per API call',
  '--max-requests N         per-portal rolling-window limit (default 100)',
  '--window-ms N            rolling window length (default 10000)',
  '--daily-limit N|none     per-portal daily limit (default 250000)',
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
  const options: SimulatorOptions = {
    port: integerFlag('port', values.port, 0) ?? 8089,
    echoTraceIds: values['echo-trace-ids'] ?? false,
    autoCreate: values['auto-create'] ?? false,
    defaultRateLimit,
  };
  const host = textFlag('host', values.host);
  if (host !== undefined) options.host = host;
  const seed = integerFlag('seed', values.seed, 0);
  if (seed !== undefined) options.seed = seed;
  const latency = integerFlag('latency-ms', values['latency-ms'], 0);
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
