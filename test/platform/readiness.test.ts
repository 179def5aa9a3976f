import { PlatformMetrics } from '../../src/telemetry/metrics';
import { operationsRoutes } from '../../services/runtime';

/** What a kubelet probe and a curious caller see of /readyz. */
describe('/readyz', () => {
  const logged: Record<string, unknown>[] = [];
  const routes = (postgres: () => Promise<unknown>) =>
    operationsRoutes({
      version: 'test',
      metrics: new PlatformMetrics('worker', 'test'),
      checks: { postgres },
      reported: { clickhouse: () => Promise.reject(new Error('connect ECONNREFUSED 10.20.3.4:8123')) },
      log: (_message, fields) => logged.push(fields),
    });

  it('stays ready while a reported dependency is down, and says so', async () => {
    const response = await routes(async () => 1).request('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true, checks: { postgres: 'ok' }, reported: { clickhouse: 'unavailable' } });
  });

  it('is unready when a required dependency is down, naming it without the internal error (which goes to the log)', async () => {
    const response = await routes(() => Promise.reject(new Error('password authentication failed for user "evals" at 10.20.1.9'))).request('/readyz');
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ ready: false, checks: { postgres: 'unavailable' }, reported: { clickhouse: 'unavailable' } });
    expect(text).not.toMatch(/10\.20|password|ECONNREFUSED/);
    expect(logged).toEqual(expect.arrayContaining([{ check: 'postgres', error: 'password authentication failed for user "evals" at 10.20.1.9' }]));
  });
});
