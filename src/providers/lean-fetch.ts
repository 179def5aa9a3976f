import http from 'node:http';
import https from 'node:https';
import { abortError, bindAbort, headerRecord } from '../egress/http-parts';

/**
 * A `fetch` for the SDKs over node:http keep-alive agents, returning the whole body buffered. Node 20's
 * built-in fetch (undici + web streams) costs about 1 ms of CPU per LLM call, which at evaluation scale is
 * the engine's largest CPU cost; this path costs a fraction of it. It covers what the SDKs use for
 * non-streaming JSON calls (status, headers, json(), text()); anything else (streaming or form bodies) goes to
 * the built-in fetch.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 }),
  'https:': new https.Agent({ keepAlive: true, keepAliveMsecs: 30_000 }),
};

/**
 * The read side of `Headers` over the raw header list: undici's Headers validates and sorts on every call,
 * a measurable cost per LLM call. Names are matched case-insensitively; repeated headers join with ", ".
 */
class ResponseHeaders {
  private readonly map = new Map<string, string>();

  constructor(raw: readonly string[]) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      const previous = this.map.get(name);
      this.map.set(name, previous === undefined ? raw[i + 1] : `${previous}, ${raw[i + 1]}`);
    }
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  values(): IterableIterator<string> {
    return this.map.values();
  }

  forEach(callback: (value: string, name: string) => void): void {
    this.map.forEach(callback);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

class BufferedResponse {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = 'basic';
  readonly body = null;
  bodyUsed = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    private readonly buffer: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.buffer.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return this.buffer.buffer.slice(this.buffer.byteOffset, this.buffer.byteOffset + this.buffer.byteLength) as ArrayBuffer;
  }

  clone(): BufferedResponse {
    return new BufferedResponse(this.url, this.status, this.statusText, this.headers, this.buffer);
  }
}



export function leanFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const body = init.body;
  const simpleBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
  if (input instanceof Request || !simpleBody) return fetch(input, init);
  const url = new URL(String(input));
  const agent = agents[url.protocol as keyof typeof agents];
  if (!agent) return fetch(input, init);
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, { method: init.method ?? 'GET', headers: headerRecord(init.headers), agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        detach();
        const headers = new ResponseHeaders(response.rawHeaders);
        resolve(new BufferedResponse(url.href, response.statusCode ?? 0, response.statusMessage ?? '', headers, Buffer.concat(chunks)) as unknown as Response);
      });
    });
    const detach = bindAbort(request, signal, reject);
    request.end(body ?? undefined);
  });
}
