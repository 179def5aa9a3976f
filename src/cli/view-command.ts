import { Hono } from 'hono';
import { parseArgs } from 'node:util';
import { viewerAssets, viewerPages, type ViewerEnv } from '../viewer/app';
import { FileViewerSource } from '../viewer/file-source';
import { serveLocally } from '../viewer/local-server';
import { ViewerPaths } from '../viewer/model';
import { UsageError } from './errors';
import { readReport } from './gate-command';
import type { Io } from './main';

/** The viewer over report files: the platform's pages, served on loopback by this process, read only. */
export function fileViewerApp(source: FileViewerSource): Hono<ViewerEnv> {
  const paths = new ViewerPaths('');
  const app = new Hono<ViewerEnv>();
  app.route('/assets', viewerAssets());
  app.use('*', async (c, next) => {
    c.set('viewerSource', source);
    c.set('viewer', { paths, title: source.title, mode: 'files', reviewer: null, csrf: null, logoutPath: null });
    await next();
  });
  app.route('/', viewerPages());
  return app;
}

/** The port `evalctl view` listens on unless told (not promptfoo's 15500: both can be open at once). */
export const VIEW_PORT = 8790;

/** `evalctl view report.json [baseline.json]`: serves the viewer over the files until interrupted. */
export async function viewCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('view: name a report.json, and optionally a baseline report.json to compare with');
  const port = values.port === undefined ? VIEW_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port ${values.port}: expected a port number (0: any free port)`);
  const [report, baseline] = await Promise.all(positionals.map((file) => readReport(file)));
  const source = new FileViewerSource([
    { id: 'report', file: positionals[0], report },
    ...(baseline ? [{ id: 'baseline', file: positionals[1], report: baseline }] : []),
  ]);
  let served;
  try {
    served = await serveLocally(fileViewerApp(source), { port, host: values.host });
  } catch (error) {
    // The default port taken (another viewer open): any free one, said below; a port asked for is refused.
    if (values.port !== undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw new UsageError(`view: cannot listen on ${values.host ?? '127.0.0.1'}:${port}: ${(error as Error).message} (choose another with --port)`);
    }
    served = await serveLocally(fileViewerApp(source), { port: 0, host: values.host });
    io.stderr.write(`evalctl view: port ${VIEW_PORT} is taken; serving on another\n`);
  }
  const page = baseline ? `${served.url}/compare?base=baseline&head=report` : `${served.url}/runs/report`;
  io.stdout.write(`evalctl view: ${page}\n(${served.url}/ lists the ${baseline ? 'two reports' : 'report'}; Ctrl-C stops)\n`);
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void served.close().then(() => resolve(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
