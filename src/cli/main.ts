import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { DirectoryResponseCache } from '../providers/cache';
import { retryEnvironmentSchema } from '../providers/retry';
import { evaluateGateRules, formatGateOutcome } from '../runner/gate';
import { toJunitXml } from '../runner/junit';
import type { Report } from '../contracts/report';
import { runSuites, type Progress } from '../runner/run-suites';
import { ENGINE_VERSION } from '../version';
import { detectBuildMetadata } from '../build-metadata';
import { loadSuites, missingCredentials, SuiteError } from '../suite/load';
import { RemoteError, runOnServer } from './remote-run';
import { EnvironmentError, readCliEnvironment } from './environment';
import { progressReporter } from './progress';

export const EXIT_OK = 0;
export const EXIT_GATE_FAILED = 1;
export const EXIT_USAGE = 2;

/** The retry policy's variables, two to a line, as the help lists them. */
const RETRY_VARIABLES = ((names: string[]) => {
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += 2) lines.push(`  ${names.slice(i, i + 2).join(', ')}`);
  return lines.join(',\n');
})(Object.keys(retryEnvironmentSchema.shape));

export const HELP = `evalctl ${ENGINE_VERSION}: evaluate an AI agent and gate a pull request on its scores.

Usage:
  evalctl run <suite files or folders…> [options]
      --output-json <file>      write report.json (summary.<metric> is the mean score)
      --junit <file>            write JUnit XML, one testcase per case
      --concurrency <n>         cases evaluated at once (default: the suites' concurrency, else 10)
      --threshold <metric=v>    override a metric's threshold; repeatable
      --no-cache                do not read or write the LLM response cache
      --cache-dir <dir>         cache folder (default .evalcache, or EVAL_CACHE_DIR)
      --server <url>            submit the suites to a running platform and wait (EVAL_API_KEY or --api-key)

  evalctl gate <report.json> [options]
      --min <metric=v>          the metric's mean must be >= v; repeatable
      --max <metric=v>          the metric's mean must be <= v; repeatable
      --baseline <report.json>  compare per metric and per case with an earlier report
      --max-drop <d>            how far a metric's mean may worsen against the baseline (default 0)

  evalctl dev [--port 8080] [--data-dir .evaldata]
                                orchestrator + worker in one process, no other service needed
  evalctl serve | work | migrate
                                the platform's orchestrator, worker, and database migrations
  evalctl keys create --project <name>
                                a new API key for the project (shown once)
  evalctl keys revoke <key or prefix>
                                revokes a key (refused within a second)

  evalctl --help | --version

Exit codes:
  0  every threshold and gate rule holds
  1  the gate failed: a metric missed its threshold, a case errored, or a score dropped
  2  usage or configuration error (bad flag, unreadable or invalid suite or report)

Environment:
  OPENAI_API_KEY, ANTHROPIC_API_KEY     provider keys (never logged or written to a report)
  OPENAI_BASE_URL, ANTHROPIC_BASE_URL   another endpoint, e.g. vLLM, Ollama or a gateway
${RETRY_VARIABLES}
                                        retry policy for every LLM call
  EVAL_GIT_SHA, EVAL_BRANCH, EVAL_PULL_REQUEST, EVAL_BUILD_ID
                                        build metadata (read from the CI's variables otherwise)
`;

/** Exit code 2 with this message and a pointer to --help. */
export class UsageError extends Error {}

export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
}

function parsePairs(values: readonly string[] | undefined, flag: string): Record<string, number> {
  const pairs: Record<string, number> = {};
  for (const value of values ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(value);
    if (!match || !Number.isFinite(Number(match[2]))) throw new UsageError(`${flag} ${value}: expected <metric>=<number>, e.g. faithfulness=0.9`);
    pairs[match[1]] = Number(match[2]);
  }
  return pairs;
}

async function writeOutput(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

async function readReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`${path}: cannot read the report`);
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not JSON (${(error as Error).message})`);
  }
  const candidate = report as Partial<Report> | null;
  if (!candidate || typeof candidate !== 'object' || typeof candidate.summary !== 'object' || !Array.isArray(candidate.cases)) {
    throw new UsageError(`${path}: not an evalctl report (no summary object or cases array)`);
  }
  return candidate as Report;
}

function summaryTable(report: Report): string {
  const rows = Object.entries(report.metrics).map(([id, m]) => {
    const mean = m.mean === null ? '—' : m.mean.toFixed(4);
    return `  ${id.padEnd(24)} mean ${mean.padStart(8)}  threshold ${m.direction === 'higher' ? '>=' : '<='} ${m.threshold}  passed ${m.passed}/${m.passed + m.failed + m.errored}${m.errored ? `  errored ${m.errored}` : ''}`;
  });
  const cost = report.usage.total_cost_usd === null ? 'unknown (a model has no price)' : `$${report.usage.total_cost_usd.toFixed(6)}`;
  const cached = report.usage.by_model.reduce((n, m) => n + m.cache_hits, 0);
  const lines = [
    `${report.totals.cases} cases: ${report.totals.passed} passed, ${report.totals.failed} failed, ${report.totals.errored} errored in ${(report.duration_ms / 1000).toFixed(1)}s`,
    ...rows,
    `  LLM cost ${cost}${cached ? `, ${cached} call(s) from the cache` : ''}`,
  ];
  lines.push(report.gate.passed ? 'Gate passed.' : `Gate FAILED:\n${report.gate.failures.map((f) => `  ${f}`).join('\n')}`);
  return `${lines.join('\n')}\n`;
}

async function runCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'output-json': { type: 'string' },
      junit: { type: 'string' },
      concurrency: { type: 'string' },
      threshold: { type: 'string', multiple: true },
      'no-cache': { type: 'boolean' },
      'cache-dir': { type: 'string' },
      server: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('run: name at least one suite file or folder');
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency ${values.concurrency}: expected a positive integer`);
  }
  const thresholds = parsePairs(values.threshold, '--threshold');
  const environment = readCliEnvironment(io.env);
  const suites = await loadSuites(positionals, io.env);
  const progress = progressReporter(io.stderr, io.env);
  const onProgress = (p: Progress) => progress.update(p);
  let report: Report;
  if (values.server) {
    const apiKey = values['api-key'] ?? io.env.EVAL_API_KEY;
    if (!apiKey) throw new UsageError('--server needs an API key: --api-key or EVAL_API_KEY (evalctl keys create --project <name>)');
    if (Object.keys(thresholds).length > 0 || concurrency !== undefined) {
      throw new UsageError('--threshold and --concurrency apply to local runs; the platform evaluates the suites as written');
    }
    report = await runOnServer(suites, { server: values.server, apiKey, build: detectBuildMetadata(io.env), onProgress }).catch((error: unknown) => {
      throw error instanceof RemoteError ? new UsageError(error.message) : error;
    });
  } else {
    const missing = missingCredentials(suites, io.env);
    if (missing.length > 0) throw new UsageError(missing.join('\n'));
    const known = new Set(suites.flatMap((s) => s.metrics.map((m) => m.id)));
    for (const id of Object.keys(thresholds)) {
      if (!known.has(id)) throw new UsageError(`--threshold ${id}: no suite has a metric "${id}" (have: ${[...known].join(', ')})`);
    }
    report = await runSuites(suites, {
      concurrency,
      thresholds,
      retry: environment.retry,
      cache: values['no-cache'] ? undefined : new DirectoryResponseCache(values['cache-dir'] ?? environment.cacheDir),
      env: io.env,
      onProgress,
    });
  }
  progress.finish();
  if (values['output-json']) await writeOutput(values['output-json'], `${JSON.stringify(report, null, 2)}\n`);
  if (values.junit) await writeOutput(values.junit, toJunitXml(report));
  io.stdout.write(summaryTable(report));
  return report.gate.passed ? EXIT_OK : EXIT_GATE_FAILED;
}

async function gateCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      min: { type: 'string', multiple: true },
      max: { type: 'string', multiple: true },
      baseline: { type: 'string' },
      'max-drop': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('gate: name exactly one report.json');
  let maxDrop: number | undefined;
  if (values['max-drop'] !== undefined) {
    maxDrop = Number(values['max-drop']);
    if (!Number.isFinite(maxDrop) || maxDrop < 0) throw new UsageError(`--max-drop ${values['max-drop']}: expected a number >= 0`);
  }
  const min = parsePairs(values.min, '--min');
  const max = parsePairs(values.max, '--max');
  if (Object.keys(min).length + Object.keys(max).length === 0 && !values.baseline) {
    throw new UsageError('gate: give at least one of --min, --max or --baseline');
  }
  const report = await readReport(positionals[0]);
  const baseline = values.baseline ? await readReport(values.baseline) : undefined;
  const outcome = evaluateGateRules(report, { min, max, baseline, maxDrop });
  io.stdout.write(`${formatGateOutcome(outcome, baseline !== undefined)}\n`);
  return outcome.passed ? EXIT_OK : EXIT_GATE_FAILED;
}

export type Command = (args: string[], io: Io) => Promise<number>;

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
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(HELP);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (command === '--version' || command === '-v') {
      io.stdout.write(`${ENGINE_VERSION}\n`);
      return EXIT_OK;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(HELP);
      return EXIT_OK;
    }
    if (command === 'run') return await runCommand(rest, io);
    if (command === 'gate') return await gateCommand(rest, io);
    if (Object.hasOwn(extra, command)) return await extra[command](rest, io);
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof SuiteError) {
      io.stderr.write(`evalctl: invalid suite:\n${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError || error instanceof EnvironmentError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`evalctl: ${(error as Error).message}\nRun \`evalctl --help\` for usage.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
