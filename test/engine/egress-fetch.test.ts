import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { embeddedIpv4, EgressBlockedError, EgressGuard, parseAllowList } from '../../src/egress/guard';

/**
 * The guarded fetch as an HTTP client: what a tenant's agent sees of redirects, methods, empty and bounded
 * answers, aborts and headers; and the allow list's edges. (egress.test.ts and egress-addresses.test.ts hold
 * the address policy.)
 */

type Seen = { method: string; path: string; headers: IncomingMessage['headers']; body: string };
let server: Server;
let base: string;
const seen: Seen[] = [];
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) => res.end('{}');

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
});

const guard = (options: { maxResponseBytes?: number; maxRedirects?: number } = {}) => new EgressGuard({ allow: parseAllowList('127.0.0.1').all, ...options });
const redirectingTo = (status: number, location = '/landed') => (req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/start') res.writeHead(status, { location }).end();
  else res.end(JSON.stringify({ method: req.method }));
};

describe('redirects, as fetch follows them', () => {
  test.each([
    [303, 'POST', 'GET', ''],
    [301, 'POST', 'GET', ''],
    [302, 'POST', 'GET', ''],
    [307, 'POST', 'POST', '{"q":1}'],
    [308, 'POST', 'POST', '{"q":1}'],
    [301, 'PUT', 'PUT', '{"q":1}'],
    [302, 'PUT', 'PUT', '{"q":1}'],
    [303, 'PUT', 'GET', ''],
  ])('%i after %s: the next request is %s, with body %j', async (status, method, nextMethod, nextBody) => {
    handler = redirectingTo(status);
    const response = await guard().fetch(`${base}/start`, { method, headers: { 'content-type': 'application/json' }, body: '{"q":1}' });
    expect(response.status).toBe(200);
    const landed = seen.find((s) => s.path === '/landed')!;
    expect({ method: landed.method, body: landed.body }).toEqual({ method: nextMethod, body: nextBody });
    if (nextMethod === 'GET') expect(landed.headers['content-type']).toBeUndefined();
    else expect(landed.headers['content-type']).toBe('application/json');
  });

  test('a redirect to GET drops the headers that describe the body, in whatever case they were given, and keeps the rest', async () => {
    handler = redirectingTo(303);
    const body = '{"q":1}';
    const headers = { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'Content-Encoding': 'identity', 'content-language': 'en', 'Content-Location': '/q', 'X-Kept': 'yes' };
    expect((await guard().fetch(`${base}/start`, { method: 'POST', headers, body })).status).toBe(200);
    expect(seen.map((s) => [s.method, s.body])).toEqual([['POST', body], ['GET', '']]);
    expect(seen[0].headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '7', 'content-encoding': 'identity', 'content-language': 'en', 'content-location': '/q' });
    const landed = Object.keys(seen[1].headers);
    expect(landed.filter((name) => name.startsWith('content-'))).toEqual([]);
    expect(seen[1].headers['x-kept']).toBe('yes');
  });

  test('a method in lower case is sent in upper case, and a redirect of it is still a POST', async () => {
    handler = redirectingTo(302);
    await guard().fetch(`${base}/start`, { method: 'post', body: 'x' });
    expect(seen.map((s) => s.method)).toEqual(['POST', 'GET']);
  });

  test('at most five redirects are followed: the fifth lands, a sixth is refused', async () => {
    handler = (req, res) => {
      const n = Number(req.url!.slice(1));
      if (n < 6) res.writeHead(302, { location: `/${n + 1}` }).end();
      else res.end('{}');
    };
    await expect(guard().fetch(`${base}/1`)).resolves.toMatchObject({ status: 200 });
    seen.length = 0;
    await expect(guard().fetch(`${base}/0`)).rejects.toThrow(new EgressBlockedError(`${base}/5`, 'more than 5 redirects'));
    expect(seen.map((s) => s.path)).toEqual(['/0', '/1', '/2', '/3', '/4', '/5']);
    await expect(guard({ maxRedirects: 0 }).fetch(`${base}/5`)).rejects.toThrow('blocked by egress policy: more than 0 redirects');
  });

  test('a 3xx without a location is the answer', async () => {
    handler = (_req, res) => res.writeHead(304).end();
    expect((await guard().fetch(`${base}/`)).status).toBe(304);
  });
});

describe('answers', () => {
  test('204 and 304 have no body; status text and every header arrive', async () => {
    for (const status of [204, 304]) {
      handler = (_req, res) => res.writeHead(status, 'Nothing Here', { 'x-a': '1' }).end();
      const response = await guard().fetch(`${base}/`);
      expect([response.status, response.statusText, response.body, response.headers.get('x-a')]).toEqual([status, 'Nothing Here', null, '1']);
    }
    handler = (_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, 'Made').end('made');
    };
    const response = await guard().fetch(`${base}/`);
    expect([response.status, response.statusText, await response.text()]).toEqual([201, 'Made', 'made']);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect([...response.headers.keys()]).not.toContain('undefined');
  });

  test('a body of exactly the limit is read; one byte more is refused', async () => {
    handler = (_req, res) => res.end('x'.repeat(1000));
    expect(await (await guard({ maxResponseBytes: 1000 }).fetch(`${base}/`)).text()).toHaveLength(1000);
    await expect(guard({ maxResponseBytes: 999 }).fetch(`${base}/`)).rejects.toThrow('blocked by egress policy: the response is larger than 999 bytes');
  });

  test('headers given as Headers, as pairs, or as a record all arrive; a Host header in any of them is refused', async () => {
    handler = (_req, res) => res.end('{}');
    await guard().fetch(`${base}/`, { headers: new Headers({ 'x-one': '1' }) });
    await guard().fetch(`${base}/`, { headers: [['x-two', '2']] });
    await guard().fetch(`${base}/`, { headers: { 'x-three': '3' } });
    expect(seen.map((s) => [s.headers['x-one'], s.headers['x-two'], s.headers['x-three']])).toEqual([['1', undefined, undefined], [undefined, '2', undefined], [undefined, undefined, '3']]);
    await expect(guard().fetch(`${base}/`, { headers: [['HOST', 'internal']] })).rejects.toThrow('blocked by egress policy: a Host header is not allowed (it is taken from the URL)');
  });

  test('an API key header without a separator is a credential too: it does not follow a redirect to another origin', async () => {
    const other = createServer((req, res) => {
      seen.push({ method: req.method!, path: `other${req.url}`, headers: req.headers, body: '' });
      res.end('{}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      handler = redirectingTo(307, `http://localhost.test.invalid:${(other.address() as AddressInfo).port}/elsewhere`);
      const g = new EgressGuard({ allow: parseAllowList('127.0.0.1,localhost.test.invalid').all, lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
      await g.fetch(`${base}/start`, { headers: { apikey: 'k1', api_key: 'k2', 'x-kept': 'yes' } });
      const elsewhere = seen.find((s) => s.path === 'other/elsewhere')!;
      expect([elsewhere.headers.apikey, elsewhere.headers.api_key, elsewhere.headers['x-kept']]).toEqual([undefined, undefined, 'yes']);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});

describe('aborts', () => {
  test('a timeout rejects with the signal’s own TimeoutError, and the request is dropped', async () => {
    handler = () => undefined; // never answers
    const error = await guard().fetch(`${base}/slow`, { signal: AbortSignal.timeout(100) }).catch((e: Error) => e);
    expect((error as Error).name).toBe('TimeoutError');
  });

  test('an abort with a reason of its own rejects with an AbortError', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const pending = guard().fetch(`${base}/slow`, { signal: controller.signal });
    setTimeout(() => controller.abort('stop'), 50);
    const error = (await pending.catch((e: Error) => e)) as Error;
    expect([error.name, error.message]).toEqual(['AbortError', 'The operation was aborted']);
  });

  test('an abort whose reason is not an error object (null, a class named AbortError) rejects with a plain AbortError', async () => {
    class AbortError extends Error {}
    for (const reason of [null, AbortError]) {
      const controller = new AbortController();
      controller.abort(reason);
      const error = (await guard().fetch(`${base}/never`, { signal: controller.signal }).catch((e: Error) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect([error.name, error.message]).toEqual(['AbortError', 'The operation was aborted']);
    }
    expect(seen).toEqual([]);
  });

  test('an already aborted signal sends nothing', async () => {
    handler = (_req, res) => res.end('{}');
    const controller = new AbortController();
    controller.abort(new DOMException('gone', 'AbortError'));
    await expect(guard().fetch(`${base}/never`, { signal: controller.signal })).rejects.toThrow('gone');
    expect(seen).toEqual([]);
  });

  test('a connection cut in the middle of the body rejects; nothing half-read is returned', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
    };
    await expect(guard().fetch(`${base}/`)).rejects.toThrow(/aborted|ECONNRESET|socket hang up/);
  });

  test('an https URL speaks TLS: a server that answers in plain HTTP is a protocol error, not an answer', async () => {
    const error = (await guard().fetch(`${base.replace('http:', 'https:')}/`).catch((e: Error) => e)) as Error & { code?: string };
    // A node:tls error comes from outside the test's realm: read by its code and message, not instanceof.
    expect([error.code, /wrong version number/.test(String(error.message))]).toEqual(['EPROTO', true]);
    expect(seen.filter((s) => s.path === '/')).toEqual([]);
  });

  test('a connection refused rejects with its error', async () => {
    await expect(guard().fetch('http://127.0.0.1:9/')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('what is refused before any request', () => {
  test.each([
    ['not a URL', 'not a URL'],
    ['ftp://127.0.0.1/x', 'ftp: URLs are not allowed (http and https only)'],
  ])('%s', async (url, reason) => {
    await expect(guard().fetch(url)).rejects.toThrow(`blocked by egress policy: ${reason}`);
  });

  test('a Request object', async () => {
    await expect(guard().fetch(new Request(`${base}/`))).rejects.toThrow('blocked by egress policy: a Request object is not supported');
  });

  test('the error names itself and the URL', async () => {
    const error = (await guard().fetch('gopher://x/').catch((e: Error) => e)) as EgressBlockedError;
    expect([String(error), error.url]).toEqual(['EgressBlockedError: blocked by egress policy: gopher: URLs are not allowed (http and https only)', 'gopher://x/']);
  });

  test('an unresolvable name carries ENOTFOUND, as the SDKs’ connection errors do', async () => {
    const g = new EgressGuard({ lookup: async () => Promise.reject(Object.assign(new Error('x'), { code: 'EAI_AGAIN' })) });
    const error = (await g.resolve(new URL('http://nowhere.example/')).catch((e: Error) => e)) as NodeJS.ErrnoException;
    expect([error.message, error.code]).toEqual(['cannot resolve nowhere.example: EAI_AGAIN', 'ENOTFOUND']);
  });

  test('without a resolver of its own, the system’s answers every address of the name', async () => {
    const g = new EgressGuard({ allow: parseAllowList('localhost').all });
    const { address, family } = await g.resolve(new URL('http://localhost/'));
    expect({ loopback: address === '::1' || address.startsWith('127.'), family: [4, 6].includes(family) }).toEqual({ loopback: true, family: true });
    await expect(new EgressGuard().resolve(new URL('http://localhost/'))).rejects.toThrow(/localhost resolves to (127\.|::1)/);
  });

  test('an address in the URL is used as it is, brackets removed, never looked up', async () => {
    const g = new EgressGuard({ allow: parseAllowList('10.20.0.0/16,fd00:1::/48').all, lookup: async () => [] });
    await expect(g.resolve(new URL('http://10.20.1.1/'))).resolves.toEqual({ address: '10.20.1.1', family: 4 });
    await expect(g.resolve(new URL('http://[fd00:1::9]/'))).resolves.toEqual({ address: 'fd00:1::9', family: 6 });
    expect(() => g.checkUrl('http://[fd00:1:1::9]/')).toThrow(EgressBlockedError);
  });
});

describe('allow-list edges', () => {
  test('a single address, IPv4 or IPv6, is a network of one; an IPv6 prefix may be longer than 32', () => {
    const g = new EgressGuard({ allow: parseAllowList('10.9.8.7, fd00::5, fd00:7::/64').all });
    expect(parseAllowList('10.9.8.7, fd00::5').all.map((r) => r.kind)).toEqual(['network', 'network']);
    expect(() => g.checkUrl('http://10.9.8.7/')).not.toThrow();
    expect(() => g.checkUrl('http://10.9.8.8/')).toThrow(EgressBlockedError);
    expect(() => g.checkUrl('http://[fd00::5]/')).not.toThrow();
    expect(() => g.checkUrl('http://[fd00::6]/')).toThrow(EgressBlockedError);
    expect(() => g.checkUrl('http://[fd00:7::1]/')).not.toThrow();
  });

  test('an exact host is not a suffix: agent.internal does not allow evilagent.internal', async () => {
    const g = new EgressGuard({ allow: parseAllowList('agent.internal').all, lookup: async () => [{ address: '10.0.0.1', family: 4 }] });
    await expect(g.resolve(new URL('http://agent.internal/'))).resolves.toMatchObject({ address: '10.0.0.1' });
    await expect(g.resolve(new URL('http://evilagent.internal/'))).rejects.toThrow(EgressBlockedError);
  });

  test.each([['=10.0.0.0/8'], ['x10.0.0.0/8'], ['10.0.0.0/8x'], ['10.0.0.0/8/8']])('%j is refused', (entry) => {
    expect(() => parseAllowList(entry)).toThrow(`EGRESS_ALLOW: "${entry}" is neither a host name nor a network`);
  });

  test.each([['a.internal'], ['x'], ['a-b.c-d.internal'], ['*.a.b'], ['9.internal']])('%j is a host name', (entry) => {
    expect(parseAllowList(entry).all).toEqual([{ kind: 'host', pattern: entry }]);
  });

  test.each([['a-.internal'], ['a..b'], ['*.*.a'], ['.a'], ['a.']])('%j is not', (entry) => {
    expect(() => parseAllowList(entry)).toThrow('neither a host name nor a network');
  });
});

test('embedded IPv4: every octet may have up to three digits, and the whole address must match', () => {
  expect(embeddedIpv4('::ffff:10.100.200.254')).toBe('10.100.200.254');
  expect(embeddedIpv4('::ffff:1.2.3.4x')).toBeUndefined();
  expect(embeddedIpv4('1::ffff:7f00:1')).toBeUndefined();
  expect(embeddedIpv4('12002:7f00:1::')).toBeUndefined();
  expect(embeddedIpv4('2002:7f00:1')).toBe('127.0.0.1');
  expect(embeddedIpv4('2002:7f00:1x')).toBeUndefined();
});
