import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** URL parameters applied as session settings for one request; the client's own parameters are ignored. */
const FORWARDED_SETTINGS = /^(insert_deduplication_token|date_time_input_format|max_execution_time|input_format_[a-z_]+|output_format_[a-z_]+)$/;

const quote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface ChdbHttpServer {
  readonly url: string;
  /** The next `count` INSERT requests answer 500 without storing anything (for tests of the writer's retries). */
  failInserts(count: number): void;
  close(): Promise<void>;
}

/**
 * ClickHouse's HTTP interface over chdb, the ClickHouse engine as a library: one process owns the data
 * folder and several processes (orchestrator, workers, tests) talk to it with the ordinary
 * `@clickhouse/client` over HTTP, as they would to a server. It covers what that client sends: `/ping`,
 * queries in the body with `param_*` bindings, inserts with the statement in `?query=` and rows in the body,
 * and per-request settings. Requests run one at a time on one chdb session.
 */
export async function startChdbHttpServer(options: {
  dataDir: string;
  port?: number;
  host?: string;
  /** Accept `POST /_faults/fail-inserts?count=N` (tests in other processes inject insert failures). */
  faultInjection?: boolean;
}): Promise<ChdbHttpServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Session } = require('chdb') as typeof import('chdb');
  const session = new Session(options.dataDir);
  let queue: Promise<unknown> = Promise.resolve();
  let failingInserts = 0;
  /** Until this time every request but the fault controls is answered by a dropped connection, as if the server were down. */
  let downUntil = 0;
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (options.faultInjection && url.pathname === '/_faults/down') {
        downUntil = Date.now() + Number(url.searchParams.get('ms') ?? 1000);
        res.writeHead(204).end();
        return;
      }
      if (Date.now() < downUntil) {
        req.socket.destroy();
        return;
      }
      if (url.pathname === '/ping') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Ok.\n');
        return;
      }
      if (options.faultInjection && url.pathname === '/_faults/fail-inserts') {
        failingInserts = Number(url.searchParams.get('count') ?? 1);
        res.writeHead(204).end();
        return;
      }
      const body = await readBody(req);
      const statement = url.searchParams.get('query');
      const sql = statement ? (body ? `${statement}\n${body}` : statement) : body;
      const params: Record<string, string> = {};
      const settings: Array<[string, string]> = [];
      for (const [name, value] of url.searchParams) {
        if (name.startsWith('param_')) params[name.slice('param_'.length)] = value;
        else if (FORWARDED_SETTINGS.test(name)) settings.push([name, value]);
      }
      // ClickHouse reads a scalar parameter in its escaped format (the client writes a quote as \', a tab as \t);
      // chdb binds the text as it is, so it is unescaped here. Arrays, tuples and maps are literals chdb parses.
      const scalars = new Set([...sql.matchAll(/\{(\w+):\s*([A-Za-z]+)/g)].filter(([, , type]) => !/^(Array|Tuple|Map)$/.test(type)).map(([, name]) => name));
      for (const name of scalars) if (params[name] !== undefined) params[name] = unescapeParameter(params[name]);
      const isInsert = /^\s*INSERT\b/i.test(sql);
      if (isInsert && failingInserts > 0) {
        failingInserts--;
        res.writeHead(500, { 'content-type': 'text/plain', 'x-clickhouse-exception-code': '999' }).end('Code: 999. DB::Exception: injected insert failure. (KEEPER_EXCEPTION)\n');
        return;
      }
      // An insert carries its settings in its own SETTINGS clause, as ClickHouse applies URL settings to the one
      // query; other statements get them as session settings for the request, reset after it.
      const inline = isInsert && settings.length > 0 && /\sFORMAT\s/i.test(sql);
      const statementSql = inline ? sql.replace(/\sFORMAT\s/i, ` SETTINGS ${settings.map(([name, value]) => `${name} = ${quote(value)}`).join(', ')} FORMAT `) : sql;
      const sessionSettings = inline ? [] : settings;
      try {
        const output = await serial(async () => {
          for (const [name, value] of sessionSettings) await session.queryAsync(`SET ${name} = ${quote(value)}`);
          try {
            const result = await session.queryBindAsync(statementSql, params, { format: 'TabSeparated' });
            return result.bytes();
          } finally {
            for (const [name] of sessionSettings) await session.queryAsync(`SET ${name} = DEFAULT`).catch(() => undefined);
          }
        });
        res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-summary': '{}' }).end(Buffer.from(output));
      } catch (error) {
        const e = error as { message?: string; clickhouseCode?: number };
        const code = e.clickhouseCode ?? 1000;
        res.writeHead(500, { 'content-type': 'text/plain', 'x-clickhouse-exception-code': String(code) }).end(`Code: ${code}. DB::Exception: ${e.message ?? String(error)}\n`);
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`Code: 1000. DB::Exception: ${String(error)}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    failInserts: (count) => {
      failingInserts = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          void queue.finally(() => {
            session.cleanup?.();
            resolve();
          });
        });
      }),
  };
}

/** A value in ClickHouse's escaped text format, unescaped: `\'` → `'`, `\\` → `\`, `\t`, `\n`, `\r`, `\0`. */
function unescapeParameter(value: string): string {
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f' };
  return value.replace(/\\(.)/gs, (_, c: string) => map[c] ?? c);
}
