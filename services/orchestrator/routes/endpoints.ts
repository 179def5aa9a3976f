import { Hono } from 'hono';
import { endpointNameSchema, putEndpointSchema, type EndpointView } from '../../../src/contracts/api';
import { EgressBlockedError } from '../../../src/egress/guard';
import { egressGuardFor } from '../../../src/platform/tenancy';
import { deleteProjectEndpoint, listProjectEndpoints, putProjectEndpoint, type StoredEndpoint } from '../../../src/store/postgres/endpoints';
import { fail, parse, readJson, type AppEnv, type RouteDeps } from '../http';

const view = (e: StoredEndpoint): EndpointView => ({ name: e.name, provider: e.provider, base_url: e.base_url, models: e.models, owner: 'project', key_hint: e.key_hint });

/**
 * The LLM endpoints a project's suites may name: the platform's (LLM_ENDPOINTS), and the project's own, with
 * the project's key (stored sealed, never returned, never logged) at a URL the egress guard allows.
 */
export function endpointRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { db, tenancy } = deps;
  const routes = new Hono<AppEnv>();

  routes.get('/endpoints', async (c) => {
    const own = await listProjectEndpoints(db, c.get('project').id);
    return c.json({ endpoints: [...tenancy.endpoints.describe(), ...own.map(view)] });
  });

  routes.put('/endpoints/:name', async (c) => {
    const project = c.get('project');
    const name = c.req.param('name');
    const valid = endpointNameSchema.safeParse(name);
    if (!valid.success) fail(400, `name: ${valid.error.issues[0].message}`, 'name');
    const body = parse(putEndpointSchema, await readJson(c), 'body');
    if (!tenancy.keyBox) fail(503, 'this platform does not take projects’ own endpoints (its operator has not set ENDPOINT_KEYS_SECRET)', 'name');
    if (tenancy.endpoints.describe().some((e) => e.name === name)) fail(409, `"${name}" is one of the platform's endpoints; choose another name`, 'name');
    try {
      egressGuardFor(tenancy, project.name).checkUrl(body.base_url);
    } catch (error) {
      if (error instanceof EgressBlockedError) fail(400, `base_url: ${error.message}`, 'base_url');
      throw error;
    }
    const stored = await putProjectEndpoint(db, project.id, {
      name,
      provider: body.provider,
      base_url: body.base_url.replace(/\/+$/, ''),
      models: body.models ?? null,
      sealed_key: tenancy.keyBox.seal(body.api_key),
      key_hint: `…${body.api_key.slice(-4)}`,
    });
    return c.json(view(stored), 200);
  });

  routes.delete('/endpoints/:name', async (c) => {
    const name = c.req.param('name');
    if (!(await deleteProjectEndpoint(db, c.get('project').id, name))) fail(404, `no endpoint ${name} of this project`, 'name');
    return c.body(null, 204);
  });

  return routes;
}
