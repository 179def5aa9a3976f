import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server that records what reaches it: a tenant's listener, an agent, or an internal service that must stay unreached. */
export interface RecordingServer {
  readonly url: string;
  readonly port: number;
  readonly received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

export type Reply = (path: string, headers: IncomingHttpHeaders) => { status?: number; body: string; headers?: Record<string, string> };

/** The cloud's instance metadata, as an internal service would serve it: what an SSRF is after. */
export const METADATA_DOCUMENT = JSON.stringify({ AccessKeyId: 'ASIAINTERNALEXAMPLE', SecretAccessKey: 'internal-metadata-secret-value' });

/** Listens on `host` (a loopback address; 127.0.0.2 stands for another host) and answers JSON with `reply`. */
export async function startRecordingServer(host = '127.0.0.1', reply: Reply = () => ({ body: METADATA_DOCUMENT })): Promise<RecordingServer> {
  const received: RecordingServer['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const answer = reply(req.url ?? '', req.headers);
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://${host}:${port}`, port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
