import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { METRICS, metricNames } from '../metrics/registry';
import type { CaseField, ConfiguredMetric } from '../metrics/types';
import { interpolateEnvironment } from './interpolate';
import { suiteSchema, type Suite, type TargetSpec } from '../contracts/suite';

/** One problem in a suite: the file, the line where known, the field's path and what is wrong. */
export interface SuiteProblem {
  readonly file: string;
  readonly line?: number;
  readonly path: string;
  readonly message: string;
}

/** Every problem of every suite at once, one per line: `file:line: path: message`. */
export class SuiteError extends Error {
  constructor(readonly problems: readonly SuiteProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SuiteError';
  }
}

export function formatProblem(problem: SuiteProblem): string {
  const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
  return `${where}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

/** A validated suite with its metrics resolved against the registry. */
export interface LoadedSuite {
  readonly file: string;
  readonly suite: Suite;
  readonly metrics: readonly ConfiguredMetric[];
  /** Case ids, given or `case-<n>` (1-based), unique within the suite. */
  readonly caseIds: readonly string[];
  /** The suite as written, before defaults and `${VAR}`s: what `evalctl run --server` submits. */
  readonly source: unknown;
}

type PathSegment = string | number;

/** `cases[3] (id "refund-2").expected_tools[0].name` */
function formatPath(path: readonly PathSegment[], input: unknown): string {
  let text = '';
  let node: unknown = input;
  path.forEach((segment, index) => {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text ? `.${segment}` : segment;
    node = node && typeof node === 'object' ? (node as Record<PathSegment, unknown>)[segment] : undefined;
    if (index === 1 && path[0] === 'cases' && node && typeof node === 'object') {
      const id = (node as { id?: unknown }).id;
      if (typeof id === 'string') text += ` (id "${id}")`;
    }
  });
  return text;
}

/** Supplies positions for a parsed file; a TypeScript suite has none. */
type Locate = (path: readonly PathSegment[]) => number | undefined;

function yamlLocator(document: Document, lines: LineCounter): Locate {
  return (path) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

/** Which case fields a target fills in, beyond what the case itself records. */
function fieldsSuppliedBy(target: TargetSpec): ReadonlySet<CaseField> {
  if (target.type === 'none') return new Set();
  if (target.type === 'http') {
    const fields: CaseField[] = ['actual_output', 'latency_ms'];
    if (target.retrieval_context) fields.push('retrieval_context');
    if (target.tools_called) fields.push('tools_called');
    if (target.cost_usd) fields.push('cost_usd');
    return new Set(fields);
  }
  return new Set<CaseField>(['actual_output', 'tools_called', 'latency_ms', 'cost_usd']);
}

function zodProblems(error: z.ZodError, prefix: readonly PathSegment[], file: string, input: unknown, locate: Locate): SuiteProblem[] {
  return error.issues.flatMap((issue) => {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    // An unknown key is reported at the key itself, one problem per key.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ file, line: locate([...path, key]), path: formatPath([...path, key], input), message: 'unknown field' }));
    }
    return [{ file, line: locate(path), path: formatPath(path, input), message: issue.message }];
  });
}

/**
 * Validates a suite (parsed from a file or written in TypeScript): the schema, environment references in the
 * target and judge, each metric's own fields, and that every case has what its metrics need.
 */
export function resolveSuite(input: unknown, file: string, locate: Locate = () => undefined, env: NodeJS.ProcessEnv = process.env): LoadedSuite {
  const problems: SuiteProblem[] = [];
  const problem = (path: PathSegment[], message: string) =>
    problems.push({ file, line: locate(path), path: formatPath(path, input), message });

  const interpolated = interpolateEnvironment(input, ['target', 'judge', 'providers'], env, (path, message) => problem(path, message));
  const parsed = suiteSchema.safeParse(interpolated);
  if (!parsed.success) throw new SuiteError([...problems, ...zodProblems(parsed.error, [], file, input, locate)]);
  const suite = parsed.data;

  const metrics: ConfiguredMetric[] = [];
  const ids = new Set<string>();
  suite.metrics.forEach((entry, index) => {
    const { name, id: givenId, threshold: givenThreshold, ...fields } = typeof entry === 'string' ? { name: entry } : entry;
    const definition = METRICS.get(name);
    if (!definition) {
      problem(['metrics', index, ...(typeof entry === 'string' ? [] : ['name'])], `unknown metric "${name}"; known: ${metricNames().join(', ')}`);
      return;
    }
    const params = definition.params.safeParse(fields);
    if (!params.success) {
      problems.push(...zodProblems(params.error, ['metrics', index], file, input, locate));
      return;
    }
    const id = (givenId as string | undefined) ?? name;
    if (ids.has(id)) problem(['metrics', index], `metric id "${id}" is used twice; give one entry a distinct \`id\``);
    ids.add(id);
    const threshold = (givenThreshold as number | undefined) ?? definition.defaultThreshold;
    const [low, high] = definition.range;
    if (threshold < low || (high !== null && threshold > high)) {
      problem(['metrics', index, 'threshold'], `threshold ${threshold} is outside ${name}'s range [${low}, ${high ?? '∞'}]`);
    }
    if (definition.needsLlm && !suite.judge) {
      problem(['metrics', index], `metric "${name}" needs an LLM judge: add \`judge: { provider: openai, model: gpt-4o-mini }\` to the suite`);
    }
    metrics.push({ id, definition, threshold, params: params.data });
  });

  const supplied = fieldsSuppliedBy(suite.target);
  const caseIds: string[] = [];
  const seen = new Set<string>();
  suite.cases.forEach((testCase, index) => {
    const id = testCase.id ?? `case-${index + 1}`;
    if (seen.has(id)) problem(['cases', index, 'id'], `case id "${id}" is used twice in this suite`);
    seen.add(id);
    caseIds.push(id);
    if (suite.target.type === 'none' && testCase.actual_output === undefined) {
      problem(['cases', index, 'actual_output'], 'missing, and the suite has no target to produce it');
    }
    for (const metric of metrics) {
      for (const field of metric.definition.requires) {
        // A missing output without a target is reported once, above.
        if (field === 'actual_output' && suite.target.type === 'none') continue;
        if (testCase[field] === undefined && !(supplied.has(field) && testCase.actual_output === undefined)) {
          problem(['cases', index, field], `missing: metric "${metric.id}" needs it and the target does not provide it`);
        }
      }
    }
  });

  if (problems.length > 0) throw new SuiteError(problems);
  return { file, suite, metrics, caseIds, source: input };
}

/** Parses a suite file (YAML or JSON) and validates it; errors carry file and line. */
export function parseSuiteText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedSuite {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new SuiteError(
      document.errors.map((error) => ({
        file,
        line: lines.linePos(error.pos[0]).line,
        path: '',
        message: `not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${error.message.split('\n')[0]}`,
      })),
    );
  }
  return resolveSuite(document.toJS(), file, yamlLocator(document, lines), env);
}

/**
 * Credentials a suite needs that the environment lacks: a provider used by its target or judge without its
 * key (OpenAI may go without one when a base URL names another server). Checked before any call is made.
 */
export function missingCredentials(suites: readonly LoadedSuite[], env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const { suite, file, metrics } of suites) {
    const uses: Array<{ role: string; provider: 'openai' | 'anthropic'; baseUrl?: string; endpoint?: string }> = [];
    if (suite.target.type === 'openai' || suite.target.type === 'anthropic') {
      uses.push({ role: 'target', provider: suite.target.type, baseUrl: suite.target.base_url, endpoint: suite.target.endpoint });
    }
    if (suite.judge && metrics.some((m) => m.definition.needsLlm)) {
      uses.push({ role: 'judge', provider: suite.judge.provider, baseUrl: suite.judge.base_url, endpoint: suite.judge.endpoint });
    }
    // A named endpoint (LLM_ENDPOINTS) brings its own key variable; it is resolved, with its errors, at the first call.
    for (const use of uses.filter((u) => u.endpoint === undefined)) {
      if (use.provider === 'openai' && !env.OPENAI_API_KEY && !use.baseUrl && !env.OPENAI_BASE_URL) {
        problems.push(`${file}: the ${use.role} calls OpenAI and OPENAI_API_KEY is not set (or set OPENAI_BASE_URL for a compatible server)`);
      }
      if (use.provider === 'anthropic' && !env.ANTHROPIC_API_KEY) {
        problems.push(`${file}: the ${use.role} calls Anthropic and ANTHROPIC_API_KEY is not set`);
      }
    }
  }
  return [...new Set(problems)];
}

const SUITE_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Suite files named directly, and every .yaml/.yml/.json under named folders (sorted, recursive). */
export async function findSuiteFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new SuiteError([{ file: path, path: '', message: 'no such file or folder' }]);
    }
    if (info.isDirectory()) {
      const entries = (await readdir(path, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile() && SUITE_EXTENSIONS.has(extname(entry.name)))
        .map((entry) => join(entry.parentPath, entry.name))
        .sort();
      if (entries.length === 0) throw new SuiteError([{ file: path, path: '', message: 'the folder holds no .yaml, .yml or .json suite' }]);
      files.push(...entries);
    } else files.push(path);
  }
  return files;
}

/** Loads and validates every suite, reporting the problems of all files together. */
export async function loadSuites(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<LoadedSuite[]> {
  const files = await findSuiteFiles(paths);
  const suites: LoadedSuite[] = [];
  const problems: SuiteProblem[] = [];
  for (const file of files) {
    const shown = relative(process.cwd(), file) || file;
    try {
      suites.push(parseSuiteText(await readFile(file, 'utf8'), shown, env));
    } catch (error) {
      if (error instanceof SuiteError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (problems.length > 0) throw new SuiteError(problems);
  return suites;
}
