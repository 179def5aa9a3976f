import { createClient } from '@clickhouse/client';
import type { Kysely } from 'kysely';
import { PlatformViewerSource } from '../../services/orchestrator/viewer-source';
import type { Report } from '../../src/contracts/report';
import { buildRunReport, reportSummary } from '../../src/platform/run-report';
import { connectPostgres, migratePostgres } from '../../src/store/postgres/connect';
import { createApiKey } from '../../src/store/postgres/projects';
import { countCaseOutcomes, createRun, finalizeRun } from '../../src/store/postgres/runs';
import type { Database, Project } from '../../src/store/postgres/schema';
import { resolveSuite } from '../../src/suite/load';
import { FileViewerSource } from '../../src/viewer/file-source';
import type { CaseFilter, RunDetail } from '../../src/viewer/model';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { createTestDatabase } from '../support/platform';
import { triageReports } from '../support/triage-fixture';

/**
 * The grid's filters, searches and sorts answered twice: in memory over report files (`evalctl view`) and in
 * Postgres over a platform run holding the same cases. Both must give the same cases in the same order.
 */
let fake: FakeLlmServer;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Kysely<Database>;
let platform: PlatformViewerSource;
let files: FileViewerSource;
let runId: string;
let report: Report;
const clickhouse = createClient({ url: 'http://127.0.0.1:9' });

beforeAll(async () => {
  fake = await startFakeLlmServer();
  [database, { matrix: report }] = await Promise.all([createTestDatabase(), triageReports(fake)]);
  // One case whose metadata holds a null, an object and a number, and one with no usage price.
  report.cases[4] = { ...report.cases[4], metadata: { locale: null, nested: { a: 1 }, order: 4 } };
  // What a tenant may put in metadata: a key that reads as SQL, a value that reads as markup, a LIKE pattern.
  report.cases[7] = { ...report.cases[7], metadata: { ...report.cases[7].metadata, "x'); DROP TABLE run_cases; --": '<img src=x onerror=alert(1)>', pattern: '%_' } };
  report.cases[9] = { ...report.cases[9], usage: [{ ...report.cases[9].usage[0], cost_usd: null }] };
  // A run's case ids are unique: the two targets' cases take their place in the name.
  report.cases = report.cases.map((c, i) => ({ ...c, id: `${c.id}-${i}` }));
  db = await connectPostgres({ kind: 'url', url: database.url, poolSize: 4 });
  await migratePostgres(db);
  const { project } = await createApiKey(db, 'grid');
  const suite = { name: 'support-rag', metrics: [{ name: 'icontains', value: 'x' }], cases: report.cases.map((c) => ({ id: c.id, input: c.input, actual_output: 'x' })) };
  const loaded = resolveSuite(suite, 'grid', undefined, {});
  const created = await createRun(db, { projectId: project.id, suiteName: 'support-rag', suite, caseIds: loaded.caseIds, build: report.build, branch: 'main', idempotencyKey: null, datasetVersionId: null });
  if (created.kind !== 'created') throw new Error('no run');
  runId = created.run.id;
  // The report's cases as a platform run's: each at its place in the report.
  await countCaseOutcomes(db, report.cases.map((result, index) => ({ runId, caseIndex: index, status: result.status, result, error: result.error })));
  await finalizeRun(db, runId, 'completed', reportSummary(buildRunReport({ ...created.run, suite }, report.cases, loaded)));
  platform = new PlatformViewerSource(db, clickhouse, 'unused', project as Project, null, null);
  files = new FileViewerSource([{ id: runId, file: 'matrix.json', report }]);
}, 60_000);

afterAll(async () => {
  await db?.destroy();
  await clickhouse.close();
  await Promise.allSettled([database?.drop(), fake?.close()]);
});

/** The run as the pages pass it (unfinished: nothing kept between calls). */
const run = () => ({ id: runId, finished_at: null }) as unknown as RunDetail;

const FILTERS: Array<[string, Omit<CaseFilter, 'offset' | 'limit'>]> = [
  ['the default order', {}],
  ['failed only', { status: 'failed' }],
  ['a search, any case', { q: 'LEEDS WAREHOUSE AND' }],
  ['a search in the id', { q: 'order-1' }],
  ['a search with % and _', { q: '%_' }],
  ['a search across two texts (never matched)', { q: 'nothing.\nyour' }],
  ['a metadata value', { meta: { key: 'locale', value: 'fr-FR' } }],
  ['a number in metadata', { meta: { key: 'order', value: '12' } }],
  ['an object in metadata (never matched: a filter is on a string, number or boolean)', { meta: { key: 'nested', value: '{"a":1}' } }],
  ['a score range', { score: { metric: 'faithfulness', min: 0.2, max: 0.7 } }],
  ['a score from', { score: { metric: 'faithfulness', min: 0.9 } }],
  ['a target', { target: 'haiku' }],
  ['a target with a search', { target: 'gpt-4o-mini', q: 'track it' }],
  ['a tag and a topic', { tag: 'priority', topic: 'shipping' }],
  ['did not pass a metric', { metric: 'faithfulness' }],
  ['by score, lowest first', { sort: 'score:faithfulness' }],
  ['by score, highest first', { sort: 'score:faithfulness', dir: 'desc' }],
  ['by id, descending', { sort: 'id', dir: 'desc' }],
  ['by index, descending', { sort: 'index', dir: 'desc' }],
  ['by status, passed first', { sort: 'status', dir: 'desc' }],
  ['by cost (an unknown last)', { sort: 'cost' }],
  ['by latency, fastest first', { sort: 'latency', dir: 'asc' }],
  ['by a metadata field', { sort: 'meta:locale' }],
  ['by a metadata field, descending, a target', { sort: 'meta:channel', dir: 'desc', target: 'haiku' }],
  ['a hostile metadata key and value', { meta: { key: "x'); DROP TABLE run_cases; --", value: '<img src=x onerror=alert(1)>' } }],
  ['a metadata value that is a LIKE pattern', { meta: { key: 'pattern', value: '%_' } }],
  ['a metadata value matched as text, not as a pattern', { meta: { key: 'pattern', value: '%' } }],
  ['sorted by a hostile metadata key', { sort: "meta:x'); DROP TABLE run_cases; --" }],
  ['a target that is a LIKE pattern', { target: '%' }],
];

test.each(FILTERS)('%s: the same cases in the same order from report files and from Postgres', async (name, filter) => {
  const [fromFiles, fromPostgres] = await Promise.all([files.caseOrder(runId, { ...filter, offset: 0, limit: 0 }), platform.caseOrder(runId, { ...filter, offset: 0, limit: 0 })]);
  expect(fromPostgres).toEqual(fromFiles);
  const page = { ...filter, offset: 3, limit: 7 };
  const [filesPage, postgresPage] = await Promise.all([files.cases(runId, page), platform.cases(runId, page)]);
  expect(postgresPage.total).toBe(fromFiles.length);
  expect(filesPage.total).toBe(fromFiles.length);
  expect(postgresPage.cases.map((c) => c.index)).toEqual(fromFiles.slice(3, 10));
  // Each row carries the same texts, target, latency, cost and verdicts.
  expect(postgresPage.cases).toEqual(filesPage.cases);
  if (name === 'a hostile metadata key and value' || name === 'a metadata value that is a LIKE pattern') expect(fromFiles).toEqual([7]);
  if (name === 'a metadata value matched as text, not as a pattern' || name === 'a target that is a LIKE pattern') expect(fromFiles).toEqual([]);
});

test('the filters offered are the same: topics, tags, metadata values by frequency, targets', async () => {
  const [fromFiles, fromPostgres] = await Promise.all([files.caseFacets(run()), platform.caseFacets(run())]);
  expect(fromPostgres).toEqual(fromFiles);
  expect(fromFiles.targets).toEqual(['gpt-4o-mini', 'haiku']);
  // By frequency, then by name: case 4 lost its locale.
  expect(fromFiles.metadata.locale).toEqual(['en-GB', 'fr-FR', 'de-DE']);
  expect(Object.keys(fromFiles.metadata)).toEqual(['channel', 'locale', 'order', 'pattern', 'tier', "x'); DROP TABLE run_cases; --"]);
});

test('the scores behind the histograms are the same', async () => {
  const [fromFiles, fromPostgres] = await Promise.all([files.scores(run()), platform.scores(run())]);
  expect(Object.fromEntries(Object.entries(fromPostgres).map(([k, v]) => [k, [...v].sort()]))).toEqual(Object.fromEntries(Object.entries(fromFiles).map(([k, v]) => [k, [...v].sort()])));
  expect(fromFiles.faithfulness).toHaveLength(report.cases.length);
});
