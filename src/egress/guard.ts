import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { abortError, bindAbort, headerRecord } from './http-parts';

/**
 * The one way the platform makes a request that a tenant's input decides (an `http` target's URL, a project's
 * own LLM endpoint): http(s) only; the host's addresses resolved and checked against loopback, private,
 * link-local, shared, multicast, reserved and metadata ranges (IPv4, IPv6, and IPv4 embedded in IPv6); the
 * connection made to the address that was checked, so a DNS answer that changes between check and connect
 * (rebinding) cannot redirect it; every redirect checked again; the response bounded in size and time.
 * Operators open holes with allow rules (an internal agent service, say), for the environment or one project.
 */

export class EgressBlockedError extends Error {
  constructor(readonly url: string, reason: string) {
    super(`blocked by egress policy: ${reason}`);
    this.name = 'EgressBlockedError';
  }
}

const BLOCKED_V4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const BLOCKED_V6: Array<[string, number]> = [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (AWS's IPv6 metadata endpoint fd00:ec2::254 is here)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const blocked = new BlockList();
for (const [network, prefix] of BLOCKED_V4) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of BLOCKED_V6) blocked.addSubnet(network, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address, if there is one. */
export function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/.exec(lower);
  const parts = hex ?? sixToFour;
  if (!parts) return undefined;
  const high = parseInt(parts[1], 16);
  const low = parseInt(parts[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Why an address may not be reached, or undefined when it may. */
export function blockedReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4') ? `${address} is a private, loopback, link-local or reserved address` : undefined;
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner !== undefined) return blockedReason(inner) ? `${address} embeds ${inner}, a private, loopback, link-local or reserved address` : undefined;
    return blocked.check(address, 'ipv6') ? `${address} is a private, loopback, link-local or reserved address` : undefined;
  }
  return `${address} is not an IP address`;
}

/** An operator's exception: a host name (`agent.internal`, `*.svc.cluster.local`) or a network (`10.20.0.0/16`). */
export type AllowRule = { kind: 'host'; pattern: string } | { kind: 'network'; list: BlockList; text: string };

/**
 * Parses `EGRESS_ALLOW`: comma-separated entries, each a host name (with an optional leading `*.`) or a CIDR
 * network, optionally prefixed by a project (`team-a=10.20.0.0/16`) to hold for that project's runs only.
 */
export function parseAllowList(text: string | undefined): { all: AllowRule[]; byProject: Map<string, AllowRule[]> } {
  const all: AllowRule[] = [];
  const byProject = new Map<string, AllowRule[]>();
  for (const raw of (text ?? '').split(',').map((entry) => entry.trim()).filter(Boolean)) {
    const eq = raw.indexOf('=');
    const [project, entry] = eq > 0 ? [raw.slice(0, eq), raw.slice(eq + 1)] : [undefined, raw];
    const rule = parseRule(entry);
    if (project) byProject.set(project, [...(byProject.get(project) ?? []), rule]);
    else all.push(rule);
  }
  return { all, byProject };
}

function parseRule(entry: string): AllowRule {
  const cidr = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(entry);
  if (cidr) {
    const family = isIP(cidr[1]);
    const prefix = Number(cidr[2]);
    if (family === 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`EGRESS_ALLOW: "${entry}" is not a network`);
    const list = new BlockList();
    list.addSubnet(cidr[1], prefix, family === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'network', list, text: entry };
  }
  if (isIP(entry)) {
    const list = new BlockList();
    list.addAddress(entry, isIP(entry) === 4 ? 'ipv4' : 'ipv6');
    return { kind: 'network', list, text: entry };
  }
  if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(entry)) throw new Error(`EGRESS_ALLOW: "${entry}" is neither a host name nor a network`);
  return { kind: 'host', pattern: entry.toLowerCase() };
}

/** `*.example.com` covers `a.example.com`, never `example.com` nor `.example.com` (a URL's host may start with a dot). */
function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return host === pattern;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && host.length > suffix.length;
}

export interface EgressOptions {
  /** Exceptions for this request's project (the environment's and the project's rules together). */
  readonly allow?: readonly AllowRule[];
  /** Default 10 MiB. */
  readonly maxResponseBytes?: number;
  /** Default 5. */
  readonly maxRedirects?: number;
  /** Replaces the system resolver (tests). */
  readonly lookup?: (host: string) => Promise<LookupAddress[]>;
}

/** Every address the system resolver gives for `host`, in the resolver's order. */
const SYSTEM_LOOKUP_OPTIONS = {
  all: true,
  // Stryker disable next-line BooleanLiteral: left on purpose; every address is checked whatever their order, which decides only which allowed address is tried first (Node 20 defaults to the resolver's order too).
  verbatim: true,
} as const;
const systemLookup = (host: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) => dnsLookup(host, SYSTEM_LOOKUP_OPTIONS, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/** A URL's host name as an address or a name: an IPv6 address without its brackets. */
function hostOf(url: URL): string {
  // Stryker disable next-line Regex: equivalent; a URL's host name holds brackets only around an IPv6 address, at both ends.
  return url.hostname.replace(/^\[|\]$/g, '');
}

// Stryker disable next-line StringLiteral: equivalent; node:http sends an empty method as GET.
const GET = 'GET';

/** The headers that describe a request's body, which a redirect to GET drops with the body (as fetch does). */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']);

/** Header names whose values are credentials (authorization, x-api-key, cookie, an agent's token…). */
export const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|secret|password|cookie|session|credential/i;

/** The policy a worker applies to one project's requests. */
export class EgressGuard {
  private readonly allow: readonly AllowRule[];
  private readonly maxResponseBytes: number;
  private readonly maxRedirects: number;
  private readonly lookup: (host: string) => Promise<LookupAddress[]>;

  constructor(options: EgressOptions = {}) {
    this.allow = options.allow ?? [];
    this.maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.lookup = options.lookup ?? systemLookup;
  }

  private allowedHost(host: string): boolean {
    return this.allow.some((rule) => rule.kind === 'host' && hostMatches(rule.pattern, host));
  }

  private allowedAddress(address: string): boolean {
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    return this.allow.some((rule) => rule.kind === 'network' && rule.list.check(address, family));
  }

  /** Checks what can be checked without the network: scheme, and an address written in the URL. Throws EgressBlockedError. */
  checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new EgressBlockedError(raw, 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgressBlockedError(raw, `${url.protocol} URLs are not allowed (http and https only)`);
    const host = hostOf(url);
    if (isIP(host)) {
      const reason = blockedReason(host);
      if (reason && !this.allowedAddress(host)) throw new EgressBlockedError(raw, reason);
    } else if (host === 'localhost' || host.endsWith('.localhost')) {
      if (!this.allowedHost(host)) throw new EgressBlockedError(raw, `${host} is this machine`);
    }
    return url;
  }

  /** The address to connect to: the host's first address, once every address it resolves to is allowed. */
  async resolve(url: URL): Promise<{ address: string; family: 4 | 6 }> {
    const host = hostOf(url);
    if (isIP(host)) return { address: host, family: isIP(host) as 4 | 6 };
    let addresses: LookupAddress[];
    try {
      addresses = await this.lookup(host);
    } catch (error) {
      throw Object.assign(new Error(`cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`), { code: 'ENOTFOUND' });
    }
    if (addresses.length === 0) throw new Error(`cannot resolve ${host}`);
    if (!this.allowedHost(host.toLowerCase())) {
      for (const { address } of addresses) {
        const reason = blockedReason(address);
        if (reason && !this.allowedAddress(address)) throw new EgressBlockedError(url.href, `${host} resolves to ${reason}`);
      }
    }
    return { address: addresses[0].address, family: addresses[0].family as 4 | 6 };
  }

  /**
   * A `fetch` for tenant-chosen URLs: the whole body buffered (at most `maxResponseBytes`), redirects followed
   * up to `maxRedirects`, each one checked like the first. Rejects with EgressBlockedError when the policy says no.
   */
  readonly fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (input instanceof Request) throw new EgressBlockedError(input.url, 'a Request object is not supported');
    let url = this.checkUrl(String(input));
    let method = (init.method ?? GET).toUpperCase();
    let body = init.body as string | Uint8Array | undefined | null;
    const headers = headerRecord(init.headers);
    // The Host header follows the URL (the host the guard checked); a tenant's own would send the request to
    // one virtual host under another's name.
    if (Object.keys(headers).some((name) => name.toLowerCase() === 'host')) throw new EgressBlockedError(url.href, 'a Host header is not allowed (it is taken from the URL)');
    for (let redirects = 0; ; redirects++) {
      const target = await this.resolve(url);
      const response = await this.once(url, target, method, headers, body ?? undefined, init.signal ?? undefined);
      const location = response.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
      if (redirects >= this.maxRedirects) throw new EgressBlockedError(url.href, `more than ${this.maxRedirects} redirects`);
      const next = new URL(location, url);
      // As fetch does: credentials go no further than the origin they were given for.
      if (next.origin !== url.origin) for (const name of Object.keys(headers)) if (CREDENTIAL_HEADER.test(name)) delete headers[name];
      url = this.checkUrl(next.href);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = GET;
        body = undefined;
        // Header names keep the case the caller gave them: `Content-Type` is dropped as `content-type` is.
        for (const name of Object.keys(headers)) if (BODY_HEADERS.has(name.toLowerCase())) delete headers[name];
      }
    }
  };

  private once(url: URL, target: { address: string; family: 4 | 6 }, method: string, headers: Record<string, string>, body: string | Uint8Array | undefined, signal: AbortSignal | undefined): Promise<Response> {
    const transport = url.protocol === 'https:' ? https : http;
    const limit = this.maxResponseBytes;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const request = transport.request(
        url,
        {
          method,
          headers,
          // Connect to the address that was checked; TLS still verifies the certificate for the host name.
          lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
            options.all ? callback(null, [{ address: target.address, family: target.family }]) : callback(null, target.address, target.family)) as unknown as http.RequestOptions['lookup'],
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limit) {
              request.destroy();
              reject(new EgressBlockedError(url.href, `the response is larger than ${limit} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', reject);
          response.on('end', () => {
            detach();
            const responseHeaders = new Headers();
            for (let i = 0; i < response.rawHeaders.length; i += 2) responseHeaders.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
            const status = response.statusCode ?? 0;
            const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            // Stryker disable next-line StringLiteral: equivalent; node:http gives every response it parsed a status message, empty or not.
            resolve(new Response(payload, { status, statusText: response.statusMessage ?? '', headers: responseHeaders }));
          });
        },
      );
      const detach = bindAbort(request, signal, reject);
      request.end(body);
    });
  }
}
