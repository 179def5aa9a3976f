import type { LookupAddress } from 'node:dns';
import { blockedReason, EgressBlockedError, EgressGuard, embeddedIpv4, parseAllowList } from '../../src/egress/guard';

/**
 * Every range the egress guard refuses, at both of its edges, and the first address past each edge (the
 * IANA special-purpose registries, RFC 6890). A range cut short or dropped lets a tenant's URL reach an
 * internal address; one widened refuses the public internet. (egress.test.ts runs the guarded fetch.)
 */

const V4: Array<[string, string, string, string | null, string | null]> = [
  // [range, first, last, the address before it (allowed), the address after it (allowed)]
  ['0.0.0.0/8', '0.0.0.0', '0.255.255.255', null, '1.0.0.0'],
  ['10.0.0.0/8', '10.0.0.0', '10.255.255.255', '9.255.255.255', '11.0.0.0'],
  ['100.64.0.0/10', '100.64.0.0', '100.127.255.255', '100.63.255.255', '100.128.0.0'],
  ['127.0.0.0/8', '127.0.0.0', '127.255.255.255', '126.255.255.255', '128.0.0.0'],
  ['169.254.0.0/16', '169.254.0.0', '169.254.255.255', '169.253.255.255', '169.255.0.0'],
  ['172.16.0.0/12', '172.16.0.0', '172.31.255.255', '172.15.255.255', '172.32.0.0'],
  ['192.0.0.0/24', '192.0.0.0', '192.0.0.255', '191.255.255.255', '192.0.1.0'],
  ['192.0.2.0/24', '192.0.2.0', '192.0.2.255', '192.0.1.255', '192.0.3.0'],
  ['192.88.99.0/24', '192.88.99.0', '192.88.99.255', '192.88.98.255', '192.88.100.0'],
  ['192.168.0.0/16', '192.168.0.0', '192.168.255.255', '192.167.255.255', '192.169.0.0'],
  ['198.18.0.0/15', '198.18.0.0', '198.19.255.255', '198.17.255.255', '198.20.0.0'],
  ['198.51.100.0/24', '198.51.100.0', '198.51.100.255', '198.51.99.255', '198.51.101.0'],
  ['203.0.113.0/24', '203.0.113.0', '203.0.113.255', '203.0.112.255', '203.0.114.0'],
  ['224.0.0.0/4', '224.0.0.0', '239.255.255.255', '223.255.255.255', null],
  ['240.0.0.0/4', '240.0.0.0', '255.255.255.255', null, null],
];

const V6: Array<[string, string, string, string | null, string | null]> = [
  ['::/128', '::', '::', null, null],
  ['::1/128', '::1', '::1', null, '::2'],
  ['100::/64', '100::', '100::ffff:ffff:ffff:ffff', 'ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '100:0:0:1::'],
  ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::'],
  ['fc00::/7', 'fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe00::'],
  ['fe80::/10', 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null],
  // fe80::/10, fec0::/10 and ff00::/8 are adjacent: the whole of fe80:: to the end is refused.
  ['fec0::/10', 'fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null, null],
  ['ff00::/8', 'ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', null, null],
];

const refused = (address: string) => `${address} is a private, loopback, link-local or reserved address`;

test.each([...V4, ...V6])('%s: both edges refused, the neighbours outside allowed', (_, first, last, before, after) => {
  expect(blockedReason(first)).toBe(refused(first));
  expect(blockedReason(last)).toBe(refused(last));
  if (before) expect([before, blockedReason(before)]).toEqual([before, undefined]);
  if (after && after !== '1.0.0.0') expect([after, blockedReason(after)]).toEqual([after, undefined]);
});

test('the metadata addresses, IPv4 and IPv6 (AWS fd00:ec2::254), are refused', () => {
  expect(blockedReason('169.254.169.254')).toBe(refused('169.254.169.254'));
  expect(blockedReason('fd00:ec2::254')).toBe(refused('fd00:ec2::254'));
});

test.each([['93.184.216.34'], ['1.0.0.0'], ['8.8.8.8'], ['2606:4700:4700::1111'], ['2a00:1450:4001::1']])('%s, public, is allowed', (address) => {
  expect(blockedReason(address)).toBeUndefined();
});

describe('IPv4 inside IPv6', () => {
  test.each([
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
    ['::7f00:1', '127.0.0.1'],
    ['::127.0.0.1', '127.0.0.1'],
    ['64:ff9b::c0a8:1', '192.168.0.1'],
    ['64:ff9b::192.168.0.1', '192.168.0.1'],
    ['2002:ac10:0001::', '172.16.0.1'],
    ['2002:0a00:0001:1::5', '10.0.0.1'],
    ['2002:c0a8:ff::', '192.168.0.255'],
  ])('%s embeds %s, and is refused for it', (address, inner) => {
    expect(embeddedIpv4(address)).toBe(inner);
    expect(blockedReason(address)).toBe(`${address} embeds ${inner}, a private, loopback, link-local or reserved address`);
  });

  test.each([['::ffff:8.8.8.8', '8.8.8.8'], ['64:ff9b::808:808', '8.8.8.8'], ['2002:0808:0808::', '8.8.8.8']])('%s embeds the public %s: allowed', (address, inner) => {
    expect(embeddedIpv4(address)).toBe(inner);
    expect(blockedReason(address)).toBeUndefined();
  });

  test.each(['2001:db8::1', 'fe80::1', '::ffff:1:2:3', '1::ffff:10.0.0.1', '2003:c0a8:1::'])('%s embeds no IPv4 address', (address) => {
    expect(embeddedIpv4(address)).toBeUndefined();
  });
});

test('a name is not an address', () => {
  expect(blockedReason('example.com')).toBe('example.com is not an IP address');
});

describe('EGRESS_ALLOW', () => {
  test('hosts, wildcard hosts, networks and single addresses, for all or for one project', () => {
    const { all, byProject } = parseAllowList(' agent.internal , *.svc.cluster.local, 10.20.0.0/16, 10.9.8.7, fd00:1::/32, team-a=192.168.5.0/24, team-a=Other.Host ');
    expect(all.map((r) => (r.kind === 'host' ? r.pattern : r.text))).toEqual(['agent.internal', '*.svc.cluster.local', '10.20.0.0/16', '10.9.8.7', 'fd00:1::/32']);
    expect([...byProject.keys()]).toEqual(['team-a']);
    expect(byProject.get('team-a')!.map((r) => (r.kind === 'host' ? r.pattern : r.text))).toEqual(['192.168.5.0/24', 'other.host']);
    expect(parseAllowList(undefined)).toEqual({ all: [], byProject: new Map() });
    expect(parseAllowList(' , ,')).toEqual({ all: [], byProject: new Map() });
  });

  test.each([
    ['10.0.0.0/33', 'EGRESS_ALLOW: "10.0.0.0/33" is not a network'],
    ['fd00::/129', 'EGRESS_ALLOW: "fd00::/129" is not a network'],
    ['300.1.1.1/8', 'EGRESS_ALLOW: "300.1.1.1/8" is not a network'],
    ['agent internal', 'EGRESS_ALLOW: "agent internal" is neither a host name nor a network'],
    ['team-a=http://agent', 'EGRESS_ALLOW: "http://agent" is neither a host name nor a network'],
    ['*.', 'EGRESS_ALLOW: "*." is neither a host name nor a network'],
    ['-agent.internal', 'EGRESS_ALLOW: "-agent.internal" is neither a host name nor a network'],
    ['=10.9.8.7', 'EGRESS_ALLOW: "=10.9.8.7" is neither a host name nor a network'],
  ])('%j is refused by name', (text, message) => {
    expect(() => parseAllowList(text)).toThrow(message);
  });

  const resolving = (addresses: Record<string, string[]>) => async (host: string): Promise<LookupAddress[]> => (addresses[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const guard = (allow: string, addresses: Record<string, string[]>) => new EgressGuard({ allow: parseAllowList(allow).all, lookup: resolving(addresses) });

  test('an allowed network opens its addresses only, by URL or by what a name resolves to', async () => {
    const g = guard('10.20.0.0/16, fd00:1::/32', { 'a.example': ['10.20.3.4'], 'b.example': ['10.21.0.1'], 'c.example': ['fd00:1::5'], 'd.example': ['fd00:2::5'] });
    expect(() => g.checkUrl('http://10.20.255.255/')).not.toThrow();
    expect(() => g.checkUrl('http://10.21.0.0/')).toThrow(EgressBlockedError);
    expect(() => g.checkUrl('http://[fd00:1::9]/')).not.toThrow();
    await expect(g.resolve(new URL('http://a.example/'))).resolves.toEqual({ address: '10.20.3.4', family: 4 });
    await expect(g.resolve(new URL('http://b.example/'))).rejects.toThrow('blocked by egress policy: b.example resolves to 10.21.0.1 is a private, loopback, link-local or reserved address');
    await expect(g.resolve(new URL('http://c.example/'))).resolves.toEqual({ address: 'fd00:1::5', family: 6 });
    await expect(g.resolve(new URL('http://d.example/'))).rejects.toThrow(EgressBlockedError);
  });

  test('an allowed host name may resolve anywhere; a wildcard covers subdomains only, never the bare domain or a look-alike', async () => {
    const g = guard('*.svc.cluster.local, agent.internal', { 'x.svc.cluster.local': ['10.0.0.1'], 'svc.cluster.local': ['10.0.0.2'], 'evilsvc.cluster.local': ['10.0.0.3'], 'agent.internal': ['127.0.0.1'], 'AGENT.internal': ['127.0.0.1'] });
    await expect(g.resolve(new URL('http://x.svc.cluster.local/'))).resolves.toMatchObject({ address: '10.0.0.1' });
    await expect(g.resolve(new URL('http://agent.internal/'))).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(g.resolve(new URL('http://svc.cluster.local/'))).rejects.toThrow(EgressBlockedError);
    await expect(g.resolve(new URL('http://evilsvc.cluster.local/'))).rejects.toThrow(EgressBlockedError);
  });

  test('a wildcard never covers its own suffix written with the dot, and an exact name never covers a longer one', async () => {
    // WHATWG URLs keep a leading dot: http://.svc.cluster.local/ has the host ".svc.cluster.local".
    const g = guard('*.svc.cluster.local, agent.internal', { '.svc.cluster.local': ['10.0.0.2'], 'evilagent.internal': ['10.0.0.4'], 'x.agent.internal': ['10.0.0.5'] });
    expect(new URL('http://.svc.cluster.local/').hostname).toBe('.svc.cluster.local');
    await expect(g.resolve(new URL('http://.svc.cluster.local/'))).rejects.toThrow('.svc.cluster.local resolves to 10.0.0.2');
    await expect(g.resolve(new URL('http://evilagent.internal/'))).rejects.toThrow('evilagent.internal resolves to 10.0.0.4');
    await expect(g.resolve(new URL('http://x.agent.internal/'))).rejects.toThrow('x.agent.internal resolves to 10.0.0.5');
  });

  test('without a resolver of its own, the guard asks the system for every address of a name (localhost: loopback, allowed by name)', async () => {
    const g = new EgressGuard({ allow: parseAllowList('localhost').all });
    await expect(g.resolve(new URL('http://localhost/'))).resolves.toEqual({ address: expect.stringMatching(/^(127\.\d+\.\d+\.\d+|::1)$/), family: expect.any(Number) });
    await expect(new EgressGuard().resolve(new URL('http://localhost/'))).rejects.toThrow(EgressBlockedError);
  });

  test('a name resolving to one public and one private address is refused (a DNS answer may pick either)', async () => {
    const g = guard('', { 'mixed.example': ['93.184.216.34', '10.0.0.1'] });
    await expect(g.resolve(new URL('http://mixed.example/'))).rejects.toThrow('mixed.example resolves to 10.0.0.1 is a private');
  });

  test('a name that does not resolve says so', async () => {
    const g = new EgressGuard({ lookup: async () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' })) });
    await expect(g.resolve(new URL('http://nowhere.example/'))).rejects.toThrow('cannot resolve nowhere.example: ENOTFOUND');
    await expect(guard('', {}).resolve(new URL('http://empty.example/'))).rejects.toThrow('cannot resolve empty.example');
  });

  test('localhost and its subdomains are refused on their face, unless allowed by name', () => {
    for (const url of ['http://localhost/', 'http://LOCALHOST:8080/', 'http://api.localhost/']) expect(() => guard('', {}).checkUrl(url)).toThrow(/is this machine$/);
    expect(() => guard('api.localhost', {}).checkUrl('http://api.localhost/')).not.toThrow();
  });
});
