import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit code of a command given arguments it does not understand (BSD sysexits `EX_USAGE`). */
export const EXIT_USAGE = 64;

/** A command line the command refuses: an unknown flag, a missing or malformed value, a stray argument. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/** node's own message for an unknown flag goes on to explain `--`; the flag's name is what matters. */
function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) return `unknown flag "${unknown[1]}"`;
  return message;
}

/**
 * `node:util` `parseArgs` in strict mode: an unknown flag, a flag without its value or a value for a boolean
 * flag throws {@link UsageError} naming it; so do more positionals than `maxPositionals`.
 */
export function parseCommandArgs<const O extends Options>(
  args: string[],
  options: O,
  maxPositionals = 0,
): { values: Parsed<O>['values']; positionals: string[] } {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((p) => `"${p}"`);
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** An integer flag value of at least `min`; throws {@link UsageError} naming the flag and the value. */
export function integerFlag(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} expects an integer of at least ${min}, got "${value}"`);
  }
  return n;
}

/** A text flag's value, which may be absent but not empty; throws {@link UsageError} naming the flag. */
export function textFlag(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`--${name} expects a value, got ""`);
  return value;
}

/** A text flag the command cannot do without; throws {@link UsageError} naming it when absent or empty. */
export function requiredFlag(name: string, value: string | undefined): string {
  const text = textFlag(name, value);
  if (text === undefined) throw new UsageError(`--${name} is required`);
  return text;
}
