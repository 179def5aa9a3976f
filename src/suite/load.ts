import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { parseStrictJson } from './json-text';
import type { z } from 'zod';
import { METRICS, metricNames } from '../metrics/registry';
import { requiredFields, strictThreshold, type CaseField, type ConfiguredMetric } from '../metrics/types';
import { datasetFormatOf, readDeepEvalDataset } from './deepeval-dataset';
import { SuiteError, type SuiteProblem } from './problems';
import { interpolateEnvironment } from './interpolate';
import { recordedReply, testCaseSchema, type TestCase } from '../contracts/case';
import { matrixTargetId, matrixTargetSchema, suiteSchema, targetRunsFor, targetSchema, type Suite, type TargetSpec } from '../contracts/suite';

export { formatProblem, SuiteError, type SuiteProblem } from './problems';

/** A validated suite with its metrics resolved against the registry. */
export interface LoadedSuite {
  readonly file: string;
  readonly suite: Suite;
  readonly metrics: readonly ConfiguredMetric[];
  /** Case ids, given or `case-<n>` (1-based), unique within the suite. */
  readonly caseIds: readonly string[];
  /** The suite as written, before defaults and `${VAR}`s: what `evalctl run --server` submits. */
  readonly source: unknown;
  /** One target of a matrix suite (`targets`), after `expandMatrix`: the suite as written and the target's id. */
  readonly matrix?: { readonly suite: string; readonly target: string };
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

/**
 * Supplies positions for a parsed file (a TypeScript suite has none): a line of the suite file, or a place in
 * another file (a case read from the suite's dataset_file).
 */
type Locate = (path: readonly PathSegment[]) => number | { readonly file: string; readonly line?: number } | undefined;

/** A problem's file and line from a Locate answer. */
function placeOf(file: string, at: ReturnType<Locate>): { file: string; line?: number } {
  return typeof at === 'object' ? { file: at.file, line: at.line } : { file, line: at };
}

/** The YAML reader's document of a suite file, with the line counter its positions need. */
function readYaml(text: string): [Document, LineCounter] {
  // Loaded on first use: a valid JSON suite never needs the YAML reader (72 modules at start-up).
  const { LineCounter, parseDocument } = require('yaml') as typeof import('yaml');
  const lines = new LineCounter();
  return [parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true }), lines];
}

function yamlLocator(document: Document, lines: LineCounter): Locate {
  const { isNode } = require('yaml') as typeof import('yaml');
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

/**
 * The issues of a union, narrowed to the branch the value was meant for: `threshold: "high"` in a metric entry
 * is reported as the object branch's "expected number, received string", not as the union's "Invalid input".
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[] = []): Array<z.core.$ZodIssue & { fullPath: PathSegment[] }> {
  return issues.flatMap((issue) => {
    const fullPath = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // A branch whose type did not fit the value at all fails at its own root; the others are the candidates.
      const fitting = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (fitting.length === 1) return flattenIssues(fitting[0], fullPath);
    }
    return [{ ...issue, fullPath }];
  });
}

function zodProblems(error: z.ZodError, prefix: readonly PathSegment[], file: string, input: unknown, locate: Locate): SuiteProblem[] {
  return flattenIssues(error.issues, prefix).flatMap((issue) => {
    const path = issue.fullPath;
    // An unknown key is reported at the key itself, one problem per key.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ ...placeOf(file, locate([...path, key])), path: formatPath([...path, key], input), message: 'unknown field' }));
    }
    return [{ ...placeOf(file, locate(path)), path: formatPath(path, input), message: issue.message }];
  });
}

/** A case of a suite that failed the schema, as far as it can be read: parsed when it parses on its own. */
function bestEffortCase(value: unknown): Record<string, unknown> {
  const parsed = testCaseSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  if (!isRecord(value)) return {};
  // A recorded conversation's last reply is its output, as the schema would have made it.
  return { ...value, actual_output: value.actual_output ?? recordedReply(value.turns) };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates a suite (parsed from a file or written in TypeScript) and reports every problem in one pass: the
 * schema, environment references in the target and judge, each metric's name and own fields, case ids, and
 * that every case has what its metrics need. A part that fails the schema is still checked as far as it can
 * be, so fixing one problem never reveals another that was there all along.
 */
export function resolveSuite(input: unknown, file: string, locate: Locate = () => undefined, env: NodeJS.ProcessEnv = process.env): LoadedSuite {
  const problems: SuiteProblem[] = [];
  const problem = (path: PathSegment[], message: string) =>
    problems.push({ ...placeOf(file, locate(path)), path: formatPath(path, input), message });

  if (isRecord(input) && 'dataset_file' in input) {
    // A path is read only by evalctl, on the machine that runs it (loadSuites); never by the platform.
    problem(['dataset_file'], 'a file path is read by `evalctl run` on your machine; on the platform, upload the file to POST /v1/datasets and name it in `dataset`');
    const { dataset_file: _path, ...rest } = input;
    input = rest;
  }
  const interpolated = interpolateEnvironment(input, ['target', 'judge', 'providers'], env, (path, message) => problem(path, message));
  const parsed = suiteSchema.safeParse(interpolated);
  if (!parsed.success) problems.push(...zodProblems(parsed.error, [], file, input, locate));
  // The parts to check further: the parsed suite, or what of the raw input has the right shape.
  const raw = isRecord(interpolated) ? interpolated : {};
  const metricEntries: unknown[] = parsed.success ? parsed.data.metrics : Array.isArray(raw.metrics) ? raw.metrics : [];
  const cases: Array<Record<string, unknown>> = parsed.success ? parsed.data.cases : Array.isArray(raw.cases) ? raw.cases.map(bestEffortCase) : [];
  // The targets the cases are checked against: the matrix's (each must supply a field), else the one target.
  const matrixTargets = parsed.success ? parsed.data.targets : Array.isArray(raw.targets) ? raw.targets.map((t) => matrixTargetSchema.safeParse(t).data) : undefined;
  const targets: Array<TargetSpec | undefined> = matrixTargets?.length
    ? matrixTargets
    : [parsed.success ? parsed.data.target : targetSchema.safeParse(raw.target ?? { type: 'none' }).data];
  // Without valid targets it is unknown what they would supply: those checks wait for valid ones.
  const target = targets.every((t) => t !== undefined) ? targets[0] : undefined;
  const hasJudge = parsed.success ? parsed.data.judge !== undefined : raw.judge !== undefined;

  const metrics: ConfiguredMetric[] = [];
  const ids = new Set<string>();
  metricEntries.forEach((entry, index) => {
    // A malformed entry (not a name, no name) is already a schema problem.
    if (typeof entry !== 'string' && !(isRecord(entry) && typeof entry.name === 'string')) return;
    const { name, id: givenId, threshold: givenThreshold, strict_mode: strictMode, ...fields }: Record<string, unknown> & { name: string } =
      typeof entry === 'string' ? { name: entry } : (entry as Record<string, unknown> & { name: string });
    const definition = METRICS.get(name);
    if (!definition) {
      problem(['metrics', index, ...(typeof entry === 'string' ? [] : ['name'])], `unknown metric "${name}"; known: ${metricNames().join(', ')} (evalctl metrics lists them with their options)`);
      return;
    }
    for (const [old, instead] of Object.entries(definition.renamedOptions ?? {})) {
      if (!(old in fields)) continue;
      problem(['metrics', index, old], `renamed: write ${instead}`);
      delete fields[old];
    }
    const strict = strictMode === true;
    if (strict && (definition.range[0] !== 0 || definition.range[1] !== 1)) {
      problem(['metrics', index, 'strict_mode'], `${name} scores in [${definition.range[0]}, ${definition.range[1] ?? '∞'}]; strict_mode makes a 0–1 score pass/fail, so it does not apply`);
    } else if (strict && typeof givenThreshold === 'number') {
      problem(['metrics', index, 'threshold'], `strict_mode sets the threshold to ${strictThreshold(definition)} (as in DeepEval); leave threshold out`);
    }
    const params = definition.params.safeParse(fields);
    if (!params.success) problems.push(...zodProblems(params.error, ['metrics', index], file, input, locate));
    const id = typeof givenId === 'string' ? givenId : name;
    if (ids.has(id)) problem(['metrics', index], `metric id "${id}" is used twice; give one entry a distinct \`id\``);
    ids.add(id);
    const threshold = strict ? strictThreshold(definition) : typeof givenThreshold === 'number' ? givenThreshold : definition.defaultThreshold;
    const [low, high] = definition.range;
    if (threshold < low || (high !== null && threshold > high)) {
      problem(['metrics', index, 'threshold'], `threshold ${threshold} is outside ${name}'s range [${low}, ${high ?? '∞'}]`);
    }
    if (definition.needsLlm && !hasJudge) {
      problem(['metrics', index], `metric "${name}" needs an LLM judge: add \`judge: { provider: openai, model: gpt-4o-mini }\` to the suite`);
    }
    if (params.success) metrics.push({ id, definition, threshold, params: params.data, ...(strict ? { strictMode: true } : {}) });
  });

  const supplied = target && new Set([...fieldsSuppliedBy(target)].filter((field) => targets.every((t) => fieldsSuppliedBy(t!).has(field))));
  const caseIds: string[] = [];
  const seen = new Set<string>();
  cases.forEach((testCase, index) => {
    const id = typeof testCase.id === 'string' ? testCase.id : `case-${index + 1}`;
    if (seen.has(id)) problem(['cases', index, 'id'], `case id "${id}" is used twice in this suite`);
    seen.add(id);
    caseIds.push(id);
    if (!target || !supplied) return;
    if (target.type === 'none' && testCase.actual_output === undefined) {
      if (Array.isArray(testCase.turns)) problem(['cases', index, 'turns'], 'the conversation ends with a user turn, and the suite has no target to answer it');
      else problem(['cases', index, 'actual_output'], 'missing, and the suite has no target to produce it');
    }
    const targetRuns = targetRunsFor(target, testCase as Pick<TestCase, 'actual_output' | 'turns'>);
    for (const metric of metrics) {
      for (const field of requiredFields(metric)) {
        // A missing output without a target is reported once, above.
        if (field === 'actual_output' && target.type === 'none') continue;
        if (testCase[field] === undefined && !(supplied.has(field) && targetRuns)) {
          problem(['cases', index, field], `missing: metric "${metric.id}" needs it and the target does not provide it`);
        }
      }
    }
  });

  if (problems.length > 0 || !parsed.success) throw new SuiteError(problems);
  return { file, suite: parsed.data, metrics, caseIds, source: input };
}

/**
 * A matrix suite (`targets`) as one suite per target, named `<name>[<target id>]`: each is run, reported and
 * gated like any suite, and its `source` is a plain suite (what `evalctl run --server` submits). Other suites
 * pass through.
 */
export function expandMatrix(loaded: LoadedSuite): LoadedSuite[] {
  const { targets, ...rest } = loaded.suite;
  if (!targets) return [loaded];
  const source = (loaded.source ?? {}) as Record<string, unknown>;
  const sourceTargets = Array.isArray(source.targets) ? source.targets : [];
  return targets.map((target, index) => {
    const id = matrixTargetId(target)!;
    const name = `${loaded.suite.name}[${id}]`;
    const { targets: _written, ...plain } = source;
    return {
      ...loaded,
      suite: { ...rest, name, target },
      source: { ...plain, name, target: sourceTargets[index] },
      matrix: { suite: loaded.suite.name, target: id },
    };
  });
}

/** A suite file's parsed value and where its parts are (YAML or JSON); a syntax error is a SuiteError with its line. */
function readSuiteDocument(text: string, file: string): { value: unknown; locate: Locate } {
  if (extname(file) === '.json') {
    // Valid JSON without a repeated key is read by JSON.parse; lines are found (by the YAML reader) only
    // for a suite with problems. Anything else goes the YAML reader's way, which names the line.
    const json = parseStrictJson(text);
    if (json) {
      let locate: Locate | undefined;
      return { value: json.value, locate: (path) => (locate ??= yamlLocator(...readYaml(text)))(path) };
    }
  }
  const [document, lines] = readYaml(text);
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
  return { value: document.toJS(), locate: yamlLocator(document, lines) };
}

/** Parses a suite file (YAML or JSON) and validates it; errors carry file and line. */
export function parseSuiteText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedSuite {
  const { value, locate } = readSuiteDocument(text, file);
  return resolveSuite(value, file, locate, env);
}

/**
 * A suite's `dataset_file`: a DeepEval dataset (.json, .jsonl or .csv, as DeepEval writes them) beside the suite,
 * read into its `cases`. Problems in the dataset name the dataset's file and line; the suite that
 * `evalctl run --server` submits carries the cases, not the path.
 */
async function attachDataset(value: unknown, locate: Locate, suitePath: string, shown: string): Promise<{ value: unknown; locate: Locate }> {
  if (!isRecord(value) || !('dataset_file' in value)) return { value, locate };
  const { dataset_file: datasetFile, ...suite } = value;
  const problem = (message: string, path: PathSegment[] = ['dataset_file']) =>
    new SuiteError([{ ...placeOf(shown, locate(path)), path: path.join('.'), message }]);
  if (typeof datasetFile !== 'string' || datasetFile === '') throw problem('expected the path of a DeepEval dataset file (.json, .jsonl or .csv), relative to this suite');
  if (suite.cases !== undefined) throw problem('give cases or dataset_file, not both', ['cases']);
  const format = datasetFormatOf(datasetFile);
  if (!format) throw problem(`"${datasetFile}": a DeepEval dataset is a .json, .jsonl or .csv file`);
  const path = resolve(dirname(suitePath), datasetFile);
  const datasetShown = relative(process.cwd(), path) || path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw problem(`cannot read ${datasetShown}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let dataset;
  try {
    dataset = readDeepEvalDataset(text, format, datasetShown);
  } catch (error) {
    if (error instanceof SuiteError) throw new SuiteError(error.problems.map((p) => ({ ...p, path: p.path.replace(/^\[/, 'cases[') })));
    throw error;
  }
  return {
    value: { ...suite, cases: dataset.cases },
    locate: (at) => (at[0] === 'cases' && typeof at[1] === 'number' ? { file: datasetShown, line: dataset.lineOf(at[1]) } : locate(at)),
  };
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

/**
 * Loads and validates every suite, reporting the problems of all files together. A file some suite names as its
 * dataset_file is that suite's cases, not a suite, when a folder holds both.
 */
export async function loadSuites(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<LoadedSuite[]> {
  const files = await findSuiteFiles(paths);
  const suites: LoadedSuite[] = [];
  const problems: SuiteProblem[] = [];
  const documents: Array<{ file: string; shown: string; value: unknown; locate: Locate }> = [];
  for (const file of files) {
    const shown = relative(process.cwd(), file) || file;
    try {
      documents.push({ file, shown, ...readSuiteDocument(await readFile(file, 'utf8'), shown) });
    } catch (error) {
      if (error instanceof SuiteError) problems.push(...error.problems);
      else throw error;
    }
  }
  const datasets = new Set(
    documents.flatMap(({ file, value }) => (isRecord(value) && typeof value.dataset_file === 'string' ? [resolve(dirname(file), value.dataset_file)] : [])),
  );
  for (const { file, shown, value, locate } of documents) {
    if (datasets.has(resolve(file))) continue;
    if (Array.isArray(value)) {
      problems.push({ file: shown, line: 1, path: '', message: 'a JSON array is not a suite (a DeepEval dataset? name it in a suite\'s dataset_file)' });
      continue;
    }
    try {
      const withCases = await attachDataset(value, locate, file, shown);
      suites.push(...expandMatrix(resolveSuite(withCases.value, shown, withCases.locate, env)));
    } catch (error) {
      if (error instanceof SuiteError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (problems.length > 0) throw new SuiteError(problems);
  return suites;
}
