import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Something that answers a fetch Request: a Hono app. */
export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

/** A request's body, whole (the viewer's forms are small; `evalctl view` takes none). */
async function bodyOf(request: IncomingMessage): Promise<Buffer | undefined> {
  if (request.method === 'GET' || request.method === 'HEAD') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Serves a fetch handler with node:http, which is all `evalctl view` needs: no server package in the CLI's
 * dependencies. Listens on `host` (loopback by default) and resolves with the URL once listening.
 */
export function serveLocally(handler: FetchHandler, options: { port: number; host?: string }): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const headers = new Headers();
        for (const [name, value] of Object.entries(request.headers)) {
          if (typeof value === 'string') headers.set(name, value);
          else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
        }
        const url = `http://${request.headers.host ?? `${host}:${options.port}`}${request.url ?? '/'}`;
        const answer = await handler.fetch(new Request(url, { method: request.method, headers, body: await bodyOf(request) }));
        const outgoing: Record<string, string | string[]> = {};
        answer.headers.forEach((value, name) => {
          outgoing[name] = name === 'set-cookie' ? answer.headers.getSetCookie() : value;
        });
        response.writeHead(answer.status, outgoing);
        response.end(Buffer.from(await answer.arrayBuffer()));
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`evalctl view: ${(error as Error).message}\n`);
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      const { port } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}`,
        server,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
