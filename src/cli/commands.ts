import type { Config } from '../config.js';
import { runDemo } from './demo.js';
import { runEnqueue } from './enqueue.js';
import { parseExplainArgs, runExplain } from './explain.js';
import {
  parseFailAccountArgs,
  parseResumeAccountArgs,
  runFailAccount,
  runResumeAccount,
} from './fail-account.js';
import { parseFailedArgs, parseRetryFailedArgs, runFailed, runRetryFailed } from './failed.js';
import { parseObliterateArgs, runObliterate } from './obliterate.js';
import { parseOutcomesArgs, runOutcomes } from './outcomes.js';
import { parseRecordFormatArgs, runRecordFormat } from './record-format.js';
import { runSimulator, SIMULATOR_OPTION_LINES } from './simulator.js';
import { parseStatusArgs, runStatus } from './status.js';
import { parseCommandArgs, UsageError } from './usage.js';

/** The program's name in usage lines. */
export const PROGRAM = 'hubspot-batch-queue';

/** What a command gets from the entry point besides its arguments. */
export interface CommandContext {
  /** Reads and checks the configuration (throws `ConfigError`); commands call it after parsing their flags. */
  config(): Config;
  /** The `worker` command's body: the process wiring (`main.ts`), handed in by the entry point (`bin.ts`). */
  runWorker(config: Config): Promise<number>;
}

/** One entry of the command table: the dispatch and the usage text are both built from it. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis after the program's name, e.g. `status [--json]`. */
  readonly usage: string;
  /** Further help lines, one per flag or rule. */
  readonly details?: readonly string[];
  /** Parses `args` strictly (a bad flag or value throws `UsageError`) and runs; resolves with the exit code. */
  run(args: string[], context: CommandContext): Promise<number>;
}

/** A help line: the flag, then what it does, in the column the simulator's help uses too. */
function flagLine(flag: string, text: string): string {
  return `${flag.padEnd(25)}${text}`;
}

const FILTER_DETAILS = [
  flagLine('--account A', 'updates of this account'),
  flagLine('--object-type T', 'updates of this object type (e.g. contacts)'),
  flagLine('--category C', 'failures of this error category (e.g. OBJECT_NOT_FOUND)'),
  flagLine('--limit N', 'at most N updates, newest first'),
];

/** Every command, in the order the usage text lists them. */
export const COMMANDS: readonly Command[] = [
  {
    name: 'worker',
    summary: 'run a worker until SIGTERM/SIGINT',
    usage: 'worker',
    run: async (args, ctx) => {
      parseCommandArgs(args, {});
      return ctx.runWorker(ctx.config());
    },
  },
  {
    name: 'enqueue',
    summary: 'enqueue NDJSON update requests (all or nothing); prints one trace id per line',
    usage: 'enqueue [FILE|-]',
    run: (args, ctx) => runEnqueue(args, ctx.config()),
  },
  {
    name: 'outcomes',
    summary:
      'print the outcome of each trace id (one per line, or NDJSON with objectWriteTraceId), or --follow every outcome as it happens',
    usage: 'outcomes [FILE|-] | outcomes --follow [--group G] [--consumer C] [--from-oldest]',
    run: (args, ctx) => runOutcomes(parseOutcomesArgs(args), ctx.config()),
  },
  {
    name: 'explain',
    summary:
      "one update's story: enqueued, ingested, batches and merged updates, each HubSpot call, the outcome",
    usage: 'explain <traceId> [--json]',
    details: [
      flagLine('--json', 'print the story as one JSON object'),
      'exits 1 for a trace id never seen (never enqueued, or its outcome expired)',
    ],
    run: (args, ctx) => runExplain(parseExplainArgs(args), ctx.config()),
  },
  {
    name: 'status',
    summary: 'queue depth, oldest waiting update, account budgets and pauses, failures, workers',
    usage: 'status [--json]',
    run: (args, ctx) => runStatus(parseStatusArgs(args), ctx.config()),
  },
  {
    name: 'simulator',
    summary: 'run the local HubSpot simulator',
    usage: 'simulator [options]',
    details: SIMULATOR_OPTION_LINES,
    run: (args) => runSimulator(args),
  },
  {
    name: 'failed',
    summary: 'list failed updates (dead letters) as NDJSON, newest first',
    usage: 'failed [--account A] [--object-type T] [--category C] [--limit N]',
    details: FILTER_DETAILS,
    run: (args, ctx) => runFailed(parseFailedArgs(args), ctx.config()),
  },
  {
    name: 'retry-failed',
    summary: 'replay failed updates named by filters, or --all (fenced: never overwrites newer values)',
    usage: 'retry-failed (--all | [--account A] [--object-type T] [--category C]) [--limit N] [--dry-run]',
    details: [
      ...FILTER_DETAILS,
      flagLine('--all', 'every failed update (required when no filter is given)'),
      flagLine('--dry-run', 'print what would be replayed; change nothing'),
    ],
    run: (args, ctx) => runRetryFailed(parseRetryFailedArgs(args), ctx.config()),
  },
  {
    name: 'fail-account',
    summary: 'fail every waiting update of an account, and its in-flight ones once their call ends',
    usage: 'fail-account --account A [--reason TEXT] [--dry-run]',
    details: [
      flagLine('--account A', 'the account (required)'),
      flagLine('--reason TEXT', 'the error message recorded in each outcome'),
      flagLine('--dry-run', 'print how many updates would fail; change nothing'),
    ],
    run: (args, ctx) => runFailAccount(parseFailAccountArgs(args), ctx.config()),
  },
  {
    name: 'resume-account',
    summary: "lift an account's pause (a daily stop included) on every replica",
    usage: 'resume-account --account A',
    run: (args, ctx) => runResumeAccount(parseResumeAccountArgs(args), ctx.config()),
  },
  {
    name: 'record-format',
    summary: 'print how outcome records are written, or set it on every shard (see the README: Upgrades)',
    usage: 'record-format [compact|object]',
    details: [
      flagLine('compact', 'positional arrays, about half the memory (the default)'),
      flagLine('object', 'the JSON objects producers of versions before compact records read'),
    ],
    run: (args, ctx) => runRecordFormat(parseRecordFormatArgs(args), ctx.config()),
  },
  {
    name: 'obliterate',
    summary: 'delete every key of the queue; refuses while its workers are alive, unless --force',
    usage: 'obliterate (--yes | --dry-run) [--force]',
    details: [
      flagLine('--yes', 'confirm: every key of QUEUE_NAME is deleted (required unless --dry-run)'),
      flagLine('--dry-run', 'print how many keys would be deleted; change nothing'),
      flagLine('--force', 'delete even while workers of the queue are alive'),
    ],
    run: (args, ctx) => runObliterate(parseObliterateArgs(args), ctx.config()),
  },
  {
    name: 'demo',
    summary: 'run simulator, workers and a sample workload, then print a summary',
    usage: 'demo',
    run: async (args, ctx) => {
      parseCommandArgs(args, {});
      return runDemo(ctx.config());
    },
  },
  {
    name: 'help',
    summary: "print this text, or one command's usage",
    usage: 'help [COMMAND]',
    run: async (args) => {
      const [name] = parseCommandArgs(args, {}, 1).positionals;
      if (name === undefined) {
        process.stdout.write(usageText());
        return 0;
      }
      const command = findCommand(name);
      if (!command) throw new UsageError(`unknown command "${name}"`);
      process.stdout.write(commandUsage(command));
      return 0;
    },
  },
];

/** The command of that name; `--help` and `-h` name `help`. */
export function findCommand(name: string): Command | undefined {
  const wanted = name === '--help' || name === '-h' ? 'help' : name;
  return COMMANDS.find((c) => c.name === wanted);
}

/** One command's synopsis and flags. */
export function commandUsage(command: Command): string {
  const details = (command.details ?? []).map((line) => `  ${line}\n`).join('');
  return `usage: ${PROGRAM} ${command.usage}\n${details}`;
}

const COLUMN = 24;

/** The program's usage: every command's synopsis and summary. */
export function usageText(): string {
  const lines = [`usage: ${PROGRAM} <command> [options]`, '', 'commands:'];
  for (const c of COMMANDS) {
    if (c.usage.length < COLUMN - 1) lines.push(`  ${c.usage.padEnd(COLUMN)}${c.summary}`);
    else lines.push(`  ${c.usage}`, `  ${' '.repeat(COLUMN)}${c.summary}`);
  }
  lines.push(
    '',
    `"${PROGRAM} help COMMAND" shows a command's flags. A command given a flag or value it does not`,
    'understand exits 64. Configuration comes from environment variables; see README.md.',
  );
  return `${lines.join('\n')}\n`;
}
