import { ConfigError } from '../errors.js';
import { type CommandContext, commandUsage, findCommand, usageText } from './commands.js';
import { EXIT_USAGE, UsageError } from './usage.js';

/** Exit code of a bad environment variable (BSD sysexits `EX_CONFIG`). */
export const EXIT_CONFIG = 78;

/**
 * Runs the command `argv` names and resolves with the exit code: 64 for an unknown command or arguments the
 * command refuses (with its usage on stderr), 78 for a bad configuration; other errors reject.
 */
export async function runCommand(argv: readonly string[], context: CommandContext): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : findCommand(name);
  if (!command) {
    process.stderr.write(`${name === undefined ? '' : `unknown command "${name}"\n`}${usageText()}`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(args, context);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_CONFIG;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${command.name}: ${err.message}\n${commandUsage(command)}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
