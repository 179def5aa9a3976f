import { Hono } from 'hono';
import { createDatasetSchema } from '../../../src/contracts/api';
import { createDatasetVersion, listDatasets } from '../../../src/store/postgres/projects';
import { fail, parse, readJson, type AppEnv, type RouteDeps } from '../http';

/** Immutable, versioned datasets of cases that runs can name instead of sending their cases. */
export function datasetRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db } = deps;
  const maxCases = deps.limits.maxCasesPerRun;
  const routes = new Hono<AppEnv>();

  routes.post('/datasets', async (c) => {
    const body = parse(createDatasetSchema, await readJson(c), 'body');
    if (body.cases.length > maxCases) fail(413, `cases: at most ${maxCases} cases per dataset version`, 'cases');
    const version = await createDatasetVersion(db, c.get('project').id, body.name, body.cases);
    return c.json({ name: version.name, version: version.version, case_count: version.case_count }, 201);
  });

  routes.get('/datasets', async (c) => c.json({ datasets: await listDatasets(db, c.get('project').id) }));

  return routes;
}
