import { ENGINE_VERSION } from '../version';
import { EXIT_OK, EXIT_USAGE, UsageError } from './errors';

export { EXIT_GATE_FAILED, EXIT_NOT_EVALUATED, EXIT_OK, EXIT_USAGE, UsageError } from './errors';

/**
 * The entry of evalctl. It loads nothing but this file and the version at start-up: each command's module
 * (and with it zod, YAML, the SDKs) is required only when that command runs, so `evalctl --version` and
 * `evalctl gate` start at the floor of a bare node process.
 */

export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

export type Command = (args: string[], io: Io) => Promise<number>;

/** The engine's commands, each loaded on first use. */
const COMMANDS: Readonly<Record<string, () => Command>> = {
  run: () => (require('./run-command') as typeof import('./run-command')).runCommand,
  gate: () => (require('./gate-command') as typeof import('./gate-command')).gateCommand,
  metrics: () => (require('./metrics-command') as typeof import('./metrics-command')).metricsCommand,
  schema: () => (require('./schema-command') as typeof import('./schema-command')).schemaCommand,
  view: () => (require('./view-command') as typeof import('./view-command')).viewCommand,
};

/** A failure the command module knows how to explain (an invalid suite, a bad environment variable): exit 2. */
function usageMessage(error: unknown): string | undefined {
  if (error instanceof UsageError) return `evalctl: ${error.message}\nRun \`evalctl --help\` for usage.\n`;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'SuiteError') return `evalctl: invalid suite:\n${(error as Error).message}\n`;
  if (name === 'EnvironmentError' || (error as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS')) {
    return `evalctl: ${(error as Error).message}\nRun \`evalctl --help\` for usage.\n`;
  }
  return undefined;
}

/**
 * Runs evalctl with `args` (without node and script) and returns the exit code. `extra` adds commands
 * from outside the engine (the platform's serve/work/dev live in services/).
 */
export async function main(
  args: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
  extra: Readonly<Record<string, Command>> = {},
): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === '--version' || command === '-v') {
      io.stdout.write(`${ENGINE_VERSION}\n`);
      return EXIT_OK;
    }
    if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write((require('./help') as typeof import('./help')).helpText(Object.keys(extra).length > 0));
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (Object.hasOwn(COMMANDS, command)) return await COMMANDS[command]()(rest, io);
    if (Object.hasOwn(extra, command)) return await extra[command](rest, io);
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    const message = usageMessage(error);
    if (message === undefined) throw error;
    io.stderr.write(message);
    return EXIT_USAGE;
  }
}
