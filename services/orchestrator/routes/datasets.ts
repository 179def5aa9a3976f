import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { createDatasetSchema, datasetNameSchema } from '../../../src/contracts/api';
import { testCaseSchema, type TestCase } from '../../../src/contracts/case';
import { readDeepEvalDataset, type DatasetFormat } from '../../../src/suite/deepeval-dataset';
import { SuiteError } from '../../../src/suite/problems';
import { createDatasetVersion, getDatasetVersion, listDatasets } from '../../../src/store/postgres/projects';
import { fail, fieldPath, MAX_JSON_DEPTH, parse, readJson, type AppEnv, type RouteDeps } from '../http';
import { badString, jsonDepth } from '../limits';

/** The DeepEval file a request body is, by its Content-Type: a JSON array of goldens, JSON Lines, or CSV. */
function deepEvalFormat(contentType: string): DatasetFormat | 'json-object' | undefined {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (['application/jsonl', 'application/x-ndjson', 'application/x-jsonlines', 'application/jsonlines'].includes(type)) return 'jsonl';
  if (type === 'application/json') return 'json-object';
  return undefined;
}

const casesSchema = z.array(testCaseSchema);

/**
 * A DeepEval dataset file sent as it is: its goldens as cases, or 400 naming the line and the field of the first
 * problem (every problem in `problems`).
 */
function casesOfFile(text: string, format: DatasetFormat): TestCase[] {
  let dataset;
  try {
    dataset = readDeepEvalDataset(text, format, 'body', {
      refuseJson: (json) => (jsonDepth(json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH ? `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` : undefined),
    });
  } catch (error) {
    if (!(error instanceof SuiteError)) throw error;
    const problems = error.problems.map((p) => `${p.line ? `line ${p.line}: ` : ''}${p.path ? `${p.path}: ` : ''}${p.message}`);
    const first = error.problems[0];
    return fail(400, problems[0], first.path || (first.line ? `line ${first.line}` : 'body'), problems.length > 1 ? { problems } : undefined);
  }
  const bad = badString(dataset.cases);
  if (bad) fail(400, `line ${dataset.lineOf(Number(/^\[(\d+)\]/.exec(bad.path)?.[1] ?? 0))}: ${bad.path}: ${bad.problem}`, bad.path);
  const parsed = casesSchema.safeParse(dataset.cases);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = fieldPath(issue.path);
    return { path, message: `line ${dataset.lineOf(Number(issue.path[0]))}: ${path}: ${issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue.message}` };
  });
  return fail(400, problems[0].message, problems[0].path, problems.length > 1 ? { problems: problems.map((p) => p.message) } : undefined);
}

function nameFromQuery(c: Context<AppEnv>): string {
  return parse(z.object({ name: datasetNameSchema }).loose(), { name: c.req.query('name') }, 'query').name;
}

/**
 * Immutable, versioned datasets of cases that runs can name instead of sending their cases: `{ name, cases }`, or
 * a DeepEval dataset file as it is (`?name=`): a JSON array of goldens, JSON Lines, or CSV.
 */
export function datasetRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db } = deps;
  const maxCases = deps.limits.maxCasesPerRun;
  const routes = new Hono<AppEnv>();

  routes.post('/datasets', async (c) => {
    const format = deepEvalFormat(c.req.header('content-type') ?? '');
    if (!format) fail(415, 'send { name, cases } as application/json, or a DeepEval dataset file (?name=…) as application/json (an array of goldens), application/jsonl or text/csv', 'content-type');
    let name: string;
    let cases: TestCase[];
    if (format === 'json-object') {
      const body = await readJson(c);
      if (Array.isArray(body)) {
        name = nameFromQuery(c);
        cases = casesOfFile(await c.req.text(), 'json');
      } else ({ name, cases } = parse(createDatasetSchema, body, 'body'));
    } else {
      name = nameFromQuery(c);
      cases = casesOfFile(await c.req.text(), format);
    }
    if (cases.length > maxCases) fail(413, `cases: at most ${maxCases} cases per dataset version`, 'cases');
    const version = await createDatasetVersion(db, c.get('project').id, name, cases);
    return c.json({ name: version.name, version: version.version, case_count: version.case_count }, 201);
  });

  routes.get('/datasets', async (c) => c.json({ datasets: await listDatasets(db, c.get('project').id) }));

  // One version with its cases (what a run naming it evaluates; the viewer adds production traces as versions).
  routes.get('/datasets/:name/versions/:version', async (c) => {
    const name = parse(datasetNameSchema, c.req.param('name'), 'query');
    const version = Number(c.req.param('version'));
    if (!Number.isInteger(version) || version < 1) fail(404, `no dataset ${name} version ${c.req.param('version')}`, 'version');
    const found = await getDatasetVersion(db, c.get('project').id, name, version);
    if (!found) fail(404, `no dataset ${name} version ${version}`, 'version');
    return c.json({ name, version: found.version, case_count: found.case_count, cases: found.cases });
  });

  return routes;
}
