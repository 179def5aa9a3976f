import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { stringify } from 'yaml';
import { Testing } from 'cdk8s';
import { PLATFORM_METRICS, PlatformChart, platformDashboards } from '@ai-eval-platform/constructs/k8s';
import { migrateClickhouse } from '../../src/store/clickhouse/migrations';
import { METRIC_NAMES } from '../../src/telemetry/metrics';
import { environment } from '../support/environments';
import { spawnClickhouse } from '../support/platform';

type Obj = Record<string, any>; // dashboard JSON is untyped

const env = environment('prod');
const dashboards = platformDashboards({
  namespace: env.kubernetes.namespace,
  environment: env.name,
  prometheusDatasourceUid: 'prometheus',
  clickhouseDatasourceUid: 'clickhouse',
  clickhouseDatabase: 'evals',
});
const work = mkdtempSync(join(tmpdir(), 'dashboards-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('three dashboards, one ConfigMap each for the Grafana sidecar', () => {
  expect(dashboards.map((d) => d.title)).toEqual(['Platform Health (prod)', 'LLM Cost & Performance (prod)', 'AI Quality Trends (prod)']);
  const maps = Testing.synth(new PlatformChart(Testing.app(), 'platform', { env })).filter((o: Obj) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
  expect(maps.map((m: Obj) => m.metadata.name).sort()).toEqual(dashboards.map((d) => d.uid).sort());
  for (const map of maps) {
    const model = JSON.parse(Object.values<string>(map.data)[0]) as Obj;
    expect(model.uid).toBe(map.metadata.name);
  }
});

test('each model is a Grafana dashboard: panels with a type, a place and targets on a named data source', () => {
  for (const { model } of dashboards as Array<{ model: Obj }>) {
    expect(model).toMatchObject({ title: expect.any(String), uid: expect.any(String), schemaVersion: expect.any(Number), time: { from: expect.any(String) } });
    expect(model.panels.length).toBeGreaterThanOrEqual(3);
    for (const panel of model.panels) {
      expect(['timeseries', 'stat', 'table']).toContain(panel.type);
      expect(panel.gridPos).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(['prometheus', 'grafana-clickhouse-datasource']).toContain(target.datasource.type);
    }
  }
});

test('every PromQL expression parses (promtool) and reads only metrics the services export', () => {
  const exported = new Set<string>([...Object.values(METRIC_NAMES), 'up']);
  const expressions = dashboards.flatMap((d) => d.promql);
  expect(expressions.length).toBeGreaterThanOrEqual(8);
  for (const expr of expressions) {
    for (const [name] of expr.matchAll(/\b(eval_[a-z_]+|up)(?=\{)/g)) expect(exported).toContain(name.replace(/_(bucket|sum|count)$/, ''));
  }
  for (const name of Object.values(PLATFORM_METRICS)) expect(exported).toContain(name);
  writeFileSync(join(work, 'panels.yml'), stringify({ groups: [{ name: 'panels', rules: expressions.map((expr, i) => ({ record: `dashboard:panel_${i}`, expr })) }] }));
  const check = spawnSync('promtool', ['check', 'rules', 'panels.yml'], { cwd: work, encoding: 'utf8' });
  expect(`${check.stdout}${check.stderr}`).toContain(`SUCCESS: ${expressions.length} rules found`);
});

test('every ClickHouse query of the run-history panels runs against the results table', async () => {
  const clickhouse = await spawnClickhouse();
  const client = createClient({ url: clickhouse.url });
  try {
    await migrateClickhouse(client, 'evals');
    const queries = dashboards.flatMap((d) => d.sql);
    expect(queries.length).toBe(4);
    for (const query of queries) {
      // Grafana's macro, as the data source expands it.
      const sql = query.replace(/\$__timeFilter\((\w+)\)/g, '$1 >= now() - INTERVAL 30 DAY');
      await expect(client.query({ query: sql, format: 'JSONEachRow' }).then((r) => r.json())).resolves.toEqual(expect.any(Array));
    }
  } finally {
    await client.close();
    await clickhouse.stop();
  }
}, 120_000);
