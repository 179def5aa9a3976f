import { parseArgs } from 'node:util';
import { main as engineMain, UsageError, type Command, type Io } from '../src/cli/main';
import { ConfigurationError, readPlatformConfig } from '../src/platform/config';
import { createApiKey, revokeApiKey, setProjectCallBodies, setProjectTraceRetention } from '../src/store/postgres/projects';
import { startDev } from './dev';
import { startOrchestrator } from './orchestrator/main';
import type { RunningService } from './runtime';
import { migrateStores, openStores } from './stores';
import { startWorker } from './worker/main';

function config(io: Io) {
  try {
    return readPlatformConfig(io.env, { embedded: false });
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

/** Runs until SIGTERM or SIGINT, then shuts the service down in order and exits 0. */
function untilSignal(service: RunningService): Promise<number> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void service.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

const platformCommands: Record<string, Command> = {
  async serve(_args, io) {
    return untilSignal(await startOrchestrator(config(io)));
  },
  async work(_args, io) {
    return untilSignal(await startWorker(config(io)));
  },
  async migrate(_args, io) {
    const settings = config(io);
    const stores = await openStores(settings);
    try {
      const ran = await migrateStores(stores, settings);
      io.stdout.write(
        `postgres: ${ran.postgres.length ? ran.postgres.join(', ') : 'up to date'}\nclickhouse: ${ran.clickhouse.length ? ran.clickhouse.map((v) => `version ${v}`).join(', ') : 'up to date'}${ran.retention ? ` (${ran.retention})` : ''}\n${ran.appRole ? `application role: ${ran.appRole}\n` : ''}`,
      );
      return 0;
    } finally {
      await stores.close();
    }
  },
  async keys(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { project: { type: 'string' } } });
    if (positionals[0] === 'revoke' && positionals[1]) {
      const stores = await openStores(config(io));
      try {
        if (!(await revokeApiKey(stores.db, positionals[1]))) {
          io.stderr.write('keys revoke: no active key with that value or prefix\n');
          return 2;
        }
        io.stderr.write('revoked; every orchestrator refuses it within API_KEY_CACHE_MS (1 s by default)\n');
        return 0;
      } finally {
        await stores.close();
      }
    }
    if (positionals[0] !== 'create' || !values.project) throw new UsageError('keys: evalctl keys create --project <name> | evalctl keys revoke <key or prefix>');
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(values.project)) throw new UsageError('--project: 1 to 100 letters, digits, ".", "_" or "-"');
    const stores = await openStores(config(io));
    try {
      const { key, project } = await createApiKey(stores.db, values.project);
      io.stderr.write(`API key for project ${project.name} (shown once; only its hash is stored):\n`);
      io.stdout.write(`${key}\n`);
      return 0;
    } finally {
      await stores.close();
    }
  },
  async projects(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'llm-call-bodies': { type: 'string' }, 'trace-retention-days': { type: 'string' } } });
    const usage = 'projects: evalctl projects set <name> --llm-call-bodies on|off | --trace-retention-days <1-3650|default>';
    if (positionals[0] !== 'set' || !positionals[1] || positionals.length !== 2) throw new UsageError(usage);
    const choice = values['llm-call-bodies'];
    const retention = values['trace-retention-days'];
    if (choice === undefined && retention === undefined) throw new UsageError(usage);
    if (choice !== undefined && choice !== 'on' && choice !== 'off') throw new UsageError(`--llm-call-bodies: expected on or off (${usage})`);
    const days = retention === undefined || retention === 'default' ? null : Number(retention);
    if (retention !== undefined && days !== null && !(Number.isInteger(days) && days >= 1 && days <= 3650)) throw new UsageError(`--trace-retention-days: expected a whole number of days from 1 to 3650, or default (${usage})`);
    const stores = await openStores(config(io));
    try {
      if (retention !== undefined) {
        if (!(await setProjectTraceRetention(stores.db, positionals[1], days))) {
          io.stderr.write(`projects set: no project ${positionals[1]}\n`);
          return 2;
        }
        io.stderr.write(`project ${positionals[1]}: spans sent from now on are kept ${days === null ? 'TRACE_RETENTION_DAYS (the environment\'s default)' : `${days} days`}; spans already stored keep theirs\n`);
        if (choice === undefined) return 0;
      }
      if (!(await setProjectCallBodies(stores.db, positionals[1], choice === 'on'))) {
        io.stderr.write(`projects set: no project ${positionals[1]}\n`);
        return 2;
      }
      io.stderr.write(
        choice === 'on'
          ? `project ${positionals[1]}: the workers store what each LLM call sends and receives (redacted, cut to LLM_CALL_BODY_MAX_CHARS, kept LLM_CALL_BODY_RETENTION_DAYS)\n`
          : `project ${positionals[1]}: the workers store no text of its LLM calls from now on (a worker that has its run open reads the setting with the next run); texts already stored expire with LLM_CALL_BODY_RETENTION_DAYS\n`,
      );
      return 0;
    } finally {
      await stores.close();
    }
  },
  async dev(args, io) {
    const { values } = parseArgs({ args, options: { port: { type: 'string' }, 'worker-port': { type: 'string' }, 'data-dir': { type: 'string' } } });
    const portOf = (flag: string, value: string | undefined, fallback: number) => {
      const port = value === undefined ? fallback : Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`${flag} ${value}: expected a port number (0: any free port)`);
      return port;
    };
    const port = portOf('--port', values.port, Number(io.env.PORT ?? 8080));
    const workerPort = portOf('--worker-port', values['worker-port'], 0);
    const service = await startDev({ port, workerPort, dataDir: values['data-dir'], env: io.env });
    io.stdout.write(
      [
        `ai-eval-platform dev: ${service.url} (viewer: ${service.url}/ui; worker metrics: ${service.workerUrl}/metrics)`,
        `API key (project ${service.project}): ${service.apiKey}`,
        '',
        'Submit a run:',
        `  curl -s ${service.url}/v1/runs -H 'Authorization: Bearer ${service.apiKey}' -H 'Content-Type: application/json' \\`,
        `    -d '{"suite":{"name":"hello","metrics":[{"name":"icontains","value":"paris"}],"cases":[{"input":"Capital of France?","actual_output":"Paris"}]}}'`,
        `  curl -s ${service.url}/v1/runs -H 'Authorization: Bearer ${service.apiKey}'`,
        `API description: ${service.url}/openapi.json. Ctrl-C stops.`,
        '',
      ].join('\n'),
    );
    return untilSignal(service);
  },
};

/** evalctl with the platform's commands. */
export function main(args: string[], io?: Io): Promise<number> {
  return engineMain(args, io, platformCommands);
}
