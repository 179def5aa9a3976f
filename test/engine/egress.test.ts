import { randomBytes } from 'node:crypto';
import { blockedReason, EgressBlockedError, EgressGuard, parseAllowList } from '../../src/egress/guard';
import { EndpointPolicy, EndpointPolicyError } from '../../src/providers/endpoints';
import { LlmGateway, llmCallScope } from '../../src/providers/llm-gateway';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server';
import { startRecordingServer } from '../support/recording-server';


describe('addresses the guard refuses', () => {
  test.each([
    '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fd00:ec2::254', 'fe80::1', 'ff02::1',
    '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::',
  ])('%s', (address) => {
    expect(blockedReason(address)).toEqual(expect.any(String));
  });

  test.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public and allowed', (address) => {
    expect(blockedReason(address)).toBeUndefined();
  });
});

describe('URLs refused before anything is sent', () => {
  const guard = new EgressGuard();
  test.each([
    ['http://127.0.0.1:8080/metrics', 'private'],
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'private'],
    ['http://[::ffff:169.254.169.254]/latest/meta-data/', 'embeds 169.254.169.254'],
    ['http://2130706433/', 'private'], // 127.0.0.1 written as one number
    ['http://0x7f.1/', 'private'],
    ['http://localhost:9000/', 'this machine'],
    ['http://api.localhost/', 'this machine'],
    ['file:///etc/passwd', 'file: URLs are not allowed'],
    ['gopher://127.0.0.1:6379/_FLUSHALL', 'gopher: URLs are not allowed'],
  ])('%s', (url, reason) => {
    expect(() => guard.checkUrl(url)).toThrow(EgressBlockedError);
    expect(() => guard.checkUrl(url)).toThrow(reason);
  });
});

describe('the guarded fetch', () => {
  test('a host name that resolves to a private address is refused, and nothing connects to it', async () => {
    const internal = await startRecordingServer();
    try {
      const guard = new EgressGuard({ lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
      await expect(guard.fetch(`http://rebind.example:${internal.port}/`)).rejects.toThrow('blocked by egress policy: rebind.example resolves to 127.0.0.1');
      // Any private answer among several is enough to refuse.
      const mixed = new EgressGuard({ lookup: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }] });
      await expect(mixed.fetch(`http://mixed.example:${internal.port}/`)).rejects.toThrow(EgressBlockedError);
      expect(internal.received).toHaveLength(0);
    } finally {
      await internal.close();
    }
  });

  test('an allowed host is reached at the address that was checked, and a redirect to a private address is refused', async () => {
    const internal = await startRecordingServer();
    const agent = await startRecordingServer('127.0.0.1', (path) =>
      path === '/redirect' ? { status: 302, body: '', headers: { location: `http://127.0.0.1:${internal.port}/latest/meta-data/` } } : { body: JSON.stringify({ answer: 'hi' }) },
    );
    try {
      let lookups = 0;
      const guard = new EgressGuard({
        allow: parseAllowList('agent.internal').all,
        // A rebinding resolver: the first answer is the allowed agent, later ones would be another address.
        lookup: async () => (lookups++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }]),
      });
      const response = await guard.fetch(`http://agent.internal:${agent.port}/answer`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(await response.json()).toEqual({ answer: 'hi' });
      expect(agent.received[0].headers.host).toBe(`agent.internal:${agent.port}`);
      await expect(new EgressGuard({ allow: parseAllowList('agent.internal').all, lookup: async () => [{ address: '127.0.0.1', family: 4 }] }).fetch(`http://agent.internal:${agent.port}/redirect`)).rejects.toThrow(
        'blocked by egress policy: 127.0.0.1 is a private',
      );
      expect(internal.received).toHaveLength(0);
    } finally {
      await Promise.all([internal.close(), agent.close()]);
    }
  });

  test('a network allowed for one project is refused for another; a response over the size limit is cut', async () => {
    const big = await startRecordingServer('127.0.0.1', () => ({ body: JSON.stringify({ blob: 'x'.repeat(50_000) }) }));
    try {
      const rules = parseAllowList('team-a=127.0.0.0/8');
      await expect(new EgressGuard({ allow: rules.byProject.get('team-b') ?? [] }).fetch(`http://127.0.0.1:${big.port}/`)).rejects.toThrow(EgressBlockedError);
      const teamA = new EgressGuard({ allow: rules.byProject.get('team-a'), maxResponseBytes: 10_000 });
      await expect(teamA.fetch(`http://127.0.0.1:${big.port}/`)).rejects.toThrow('the response is larger than 10000 bytes');
      expect(big.received).toHaveLength(1);
    } finally {
      await big.close();
    }
  });

  test('allow-list entries that are neither hosts nor networks are refused by name', () => {
    expect(() => parseAllowList('10.0.0.0/40')).toThrow('EGRESS_ALLOW: "10.0.0.0/40" is not a network');
    expect(() => parseAllowList('team=http://x')).toThrow('EGRESS_ALLOW: "http://x" is neither a host name nor a network');
  });
});

describe('LLM keys are bound to endpoints', () => {
  let fake: FakeLlmServer;
  beforeAll(async () => {
    fake = await startFakeLlmServer({ script: () => ({ text: 'ok' }) });
  });
  afterAll(() => fake.close());

  const platformKey = `sk-test-${randomBytes(12).toString('hex')}`;
  const platformEnv = () => ({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: platformKey });

  test('on the platform, a suite’s own URL is refused before any request, and the platform key goes only to its endpoint', async () => {
    const attacker = await startRecordingServer();
    try {
      const policy = EndpointPolicy.platform(platformEnv());
      const gateway = new LlmGateway({ env: platformEnv(), endpoints: policy, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, retryAfterCapMs: 1, timeoutMs: 5_000, rateLimitBudgetMs: 0 } });
      const attackerUrl = `http://127.0.0.1:${attacker.port}/v1`;
      await expect(gateway.chat({ provider: 'openai', model: 'gpt-4o-mini', baseUrl: attackerUrl, maxTokens: 10 }, { messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(
        EndpointPolicyError,
      );
      await expect(gateway.chat({ provider: 'anthropic', model: 'claude', maxTokens: 10 }, { messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow('this platform has no anthropic endpoint');
      expect(attacker.received).toHaveLength(0);
      const before = fake.requests.length;
      await gateway.chat({ provider: 'openai', model: 'gpt-4o-mini', endpoint: 'openai', maxTokens: 10 }, { messages: [{ role: 'user', content: 'hi' }] });
      expect(fake.requests.length).toBe(before + 1);
      expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${platformKey}`);
    } finally {
      await attacker.close();
    }
  });

  test('LLM_ENDPOINTS: named endpoints with their own key variable and models; problems name the field', () => {
    const env = {
      LLM_ENDPOINTS: JSON.stringify([
        { name: 'gateway', provider: 'openai', base_url: 'https://llm.internal.example/v1', api_key_env: 'GATEWAY_KEY', models: ['gpt-4o*'] },
      ]),
      GATEWAY_KEY: 'gw-key',
    };
    const policy = EndpointPolicy.platform(env);
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o-mini', endpoint: 'gateway' })).toMatchObject({ baseUrl: 'https://llm.internal.example/v1', apiKey: 'gw-key' });
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o', baseUrl: 'https://llm.internal.example/v1/' }).name).toBe('gateway');
    const refused = (settings: Parameters<EndpointPolicy['resolve']>[0]) => {
      try {
        policy.resolve(settings);
      } catch (error) {
        return { field: (error as EndpointPolicyError).field, message: (error as Error).message };
      }
      return undefined;
    };
    expect(refused({ provider: 'openai', model: 'o3', endpoint: 'gateway' })).toEqual({ field: 'model', message: expect.stringContaining('does not serve o3') });
    expect(refused({ provider: 'openai', model: 'gpt-4o', endpoint: 'nope' })).toEqual({ field: 'endpoint', message: expect.stringContaining('"gateway" (openai)') });
    expect(refused({ provider: 'openai', model: 'gpt-4o', baseUrl: 'https://evil.example/v1' })).toEqual({ field: 'base_url', message: expect.stringContaining('not an endpoint of this platform') });
    expect(() => EndpointPolicy.platform({ LLM_ENDPOINTS: '[{"name":"x","provider":"mistral"}]' })).toThrow('LLM_ENDPOINTS[0].provider');
    // A developer's own run keeps its freedom: any URL, with the developer's key.
    expect(EndpointPolicy.local({ OPENAI_API_KEY: 'mine' }).resolve({ provider: 'openai', model: 'm', baseUrl: 'http://127.0.0.1:1234/v1' })).toMatchObject({ apiKey: 'mine', baseUrl: 'http://127.0.0.1:1234/v1' });
  });

  test('the response cache is keyed by the endpoint called: another server’s answers are not served', async () => {
    const other = await startFakeLlmServer({ script: () => ({ text: 'other' }) });
    try {
      const entries = new Map<string, unknown>();
      const cache = { get: async (k: string) => entries.get(k) as never, set: async (k: string, v: unknown) => void entries.set(k, v) };
      const ask = (baseUrl: string) =>
        new LlmGateway({ env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: baseUrl }, cache }).chat({ provider: 'openai', model: 'm', temperature: 0, maxTokens: 5 }, { messages: [{ role: 'user', content: 'same' }] });
      expect((await ask(fake.openaiBaseUrl)).response.text).toBe('ok');
      const second = await ask(other.openaiBaseUrl);
      expect(second).toMatchObject({ cached: false, response: { text: 'other' } });
      expect(other.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  test('a call scope can carry a run’s own policy', async () => {
    const gateway = new LlmGateway({ env: platformEnv() });
    const strict = EndpointPolicy.platform({});
    await expect(
      llmCallScope.run({ kind: 'judge', record: () => undefined, endpoints: strict }, () => gateway.chat({ provider: 'openai', model: 'm', maxTokens: 5 }, { messages: [{ role: 'user', content: 'x' }] })),
    ).rejects.toThrow('this platform has no openai endpoint');
  });
});

describe('credentials stay with their origin', () => {
  test('a cross-origin redirect drops authorization, x-api-key, cookie and the agent’s token; the same origin keeps them', async () => {
    const other = await startRecordingServer('127.0.0.2');
    const agent = await startRecordingServer('127.0.0.3', (path) =>
      path === '/away' ? { status: 307, body: '', headers: { location: `${other.url}/landed` } } : path === '/here' ? { status: 307, body: '', headers: { location: '/landed' } } : { body: '{}' },
    );
    try {
      const guard = new EgressGuard({ allow: parseAllowList('127.0.0.2/32,127.0.0.3/32').all });
      const headers = { authorization: 'Bearer agent-secret', 'x-api-key': 'agent-key', cookie: 'sid=1', 'x-agent-token': 'tok', 'x-trace': 'kept' };
      await guard.fetch(`${agent.url}/away`, { method: 'POST', headers, body: '{}' });
      await guard.fetch(`${agent.url}/here`, { method: 'POST', headers, body: '{}' });
      const crossed = other.received[0].headers;
      expect([crossed.authorization, crossed['x-api-key'], crossed.cookie, crossed['x-agent-token'], crossed['x-trace']]).toEqual([undefined, undefined, undefined, undefined, 'kept']);
      const stayed = agent.received.find((r) => r.path === '/landed')!.headers;
      expect([stayed.authorization, stayed['x-api-key'], stayed.cookie]).toEqual(['Bearer agent-secret', 'agent-key', 'sid=1']);
      await expect(guard.fetch(`${agent.url}/`, { headers: { Host: 'internal.example' } })).rejects.toThrow(EgressBlockedError);
      expect(agent.received.filter((r) => r.path === '/')).toHaveLength(0);
    } finally {
      await Promise.all([other.close(), agent.close()]);
    }
  });
});
