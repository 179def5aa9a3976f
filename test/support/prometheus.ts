import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './platform';

type Obj = Record<string, any>; // Prometheus's API answers are untyped JSON

/** A scrape target with the labels Kubernetes service discovery would give it (`namespace`, `service`). */
export interface ScrapeTarget {
  readonly job: string;
  /** `host:port`. */
  readonly target: string;
  readonly labels: Record<string, string>;
}

export interface RunningPrometheus {
  /** An instant query's result; empty while Prometheus is not answering. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Every alert Prometheus holds (pending and firing). */
  alerts(): Promise<Obj[]>;
  stop(): void;
}

/**
 * A real Prometheus (the Debian package) in `work`, scraping and evaluating every second, with the rule groups
 * given (written to `rules.yml`).
 */
export async function startPrometheus(work: string, targets: readonly ScrapeTarget[], ruleGroups?: unknown[]): Promise<RunningPrometheus> {
  const port = await freePort();
  if (ruleGroups) writeFileSync(join(work, 'rules.yml'), stringify({ groups: ruleGroups }));
  writeFileSync(
    join(work, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      ...(ruleGroups ? { rule_files: [join(work, 'rules.yml')] } : {}),
      scrape_configs: targets.map((t) => ({ job_name: t.job, static_configs: [{ targets: [t.target], labels: t.labels }] })),
    }),
  );
  const child: ChildProcess = spawn('prometheus', [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const get = async (path: string): Promise<Obj | undefined> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
    return response?.ok ? ((await response.json().catch(() => undefined)) as Obj | undefined) : undefined;
  };
  return {
    query: async (expr) => (await get(`/api/v1/query?query=${encodeURIComponent(expr)}`))?.data?.result ?? [],
    alerts: async () => (await get('/api/v1/alerts'))?.data?.alerts ?? [],
    stop: () => child.kill('SIGKILL'),
  };
}
