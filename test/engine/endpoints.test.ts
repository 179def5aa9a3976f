import fc from 'fast-check';
import { EndpointPolicy, EndpointPolicyError, endpointsFromEnvironment, globMatches } from '../../src/providers/endpoints';
import { parseSuiteText } from '../../src/suite/load';

/**
 * Which endpoint, and so which key, an LLM call of a suite goes to: on the platform, only the operator's
 * endpoints (by name, or the provider's default) and a project's own; on a developer's machine, any URL with
 * the developer's key. (egress.test.ts and tenant-bounds.test.ts make the calls over HTTP.)
 */

const key = (name: string) => `${name}-key-0123456789`;
const ENDPOINTS = JSON.stringify([
  { name: 'openai', provider: 'openai', base_url: 'https://gateway.internal/openai/v1/' },
  { name: 'azure-gpt', provider: 'openai', base_url: 'https://azure.example/v1', api_key_env: 'AZURE_KEY', models: ['gpt-4o*', 'o3'] },
  { name: 'claude', provider: 'anthropic' },
]);
const env = { LLM_ENDPOINTS: ENDPOINTS, OPENAI_API_KEY: key('openai'), AZURE_KEY: key('azure'), ANTHROPIC_API_KEY: key('anthropic') };

const refusal = (fn: () => unknown): { field: string; message: string } => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EndpointPolicyError);
    return { field: (error as EndpointPolicyError).field, message: (error as Error).message };
  }
  throw new Error('expected a refusal');
};

describe('on the platform', () => {
  const policy = EndpointPolicy.platform(env);

  test('by name: that endpoint, its URL and its own key variable', () => {
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o-mini', endpoint: 'azure-gpt' })).toEqual({ name: 'azure-gpt', provider: 'openai', baseUrl: 'https://azure.example/v1', apiKey: key('azure'), models: ['gpt-4o*', 'o3'], owner: 'platform' });
    expect(policy.resolve({ provider: 'anthropic', model: 'claude-3-5-haiku', endpoint: 'claude' })).toMatchObject({ name: 'claude', apiKey: key('anthropic') });
  });

  test('no name: the endpoint named after the provider first, else the provider’s first', () => {
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o-mini' }).name).toBe('openai');
    const noDefaultName = EndpointPolicy.platform({ LLM_ENDPOINTS: JSON.stringify([{ name: 'a', provider: 'anthropic' }, { name: 'b', provider: 'openai' }, { name: 'c', provider: 'openai' }]) });
    expect(noDefaultName.resolve({ provider: 'openai', model: 'm' }).name).toBe('b');
  });

  test('a URL that is an endpoint’s (with or without its trailing slash) is that endpoint', () => {
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o', baseUrl: 'https://gateway.internal/openai/v1' })).toMatchObject({ name: 'openai', apiKey: key('openai') });
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o', baseUrl: 'https://azure.example/v1///' })).toMatchObject({ name: 'azure-gpt' });
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o', endpoint: 'azure-gpt', baseUrl: 'https://azure.example/v1/' })).toMatchObject({ name: 'azure-gpt' });
  });

  test.each([
    ['a URL of its own', { provider: 'openai', model: 'm', baseUrl: 'https://evil.example/v1' }, 'base_url', 'https://evil.example/v1 is not an endpoint of this platform; name one with "endpoint" ("openai" (openai), "azure-gpt" (openai), "claude" (anthropic))'],
    ['an endpoint’s URL under another provider', { provider: 'anthropic', model: 'm', baseUrl: 'https://azure.example/v1' }, 'base_url', expect.stringContaining('https://azure.example/v1 is not an endpoint of this platform')],
    ['an unknown name', { provider: 'openai', model: 'm', endpoint: 'gpt' }, 'endpoint', 'no endpoint named "gpt"; the endpoints are "openai" (openai), "azure-gpt" (openai), "claude" (anthropic)'],
    ['a name of another provider', { provider: 'openai', model: 'm', endpoint: 'claude' }, 'endpoint', 'endpoint "claude" serves anthropic, not openai'],
    ['a name with another URL', { provider: 'openai', model: 'gpt-4o', endpoint: 'azure-gpt', baseUrl: 'https://evil.example/v1' }, 'base_url', 'leave base_url out when naming an endpoint (endpoint "azure-gpt" has its own)'],
    ['a model the endpoint does not serve', { provider: 'openai', model: 'gpt-3.5-turbo', endpoint: 'azure-gpt' }, 'model', 'endpoint "azure-gpt" does not serve gpt-3.5-turbo (it serves gpt-4o*, o3)'],
    ['a model that only starts like one it serves', { provider: 'openai', model: 'o3-mini', endpoint: 'azure-gpt' }, 'model', expect.stringContaining('does not serve o3-mini')],
  ])('refuses %s, naming the field', (_, settings, field, message) => {
    expect(refusal(() => policy.resolve(settings as Parameters<EndpointPolicy['resolve']>[0]))).toEqual({ field, message });
  });

  test('a platform without an endpoint for the provider says which it has; without any, none', () => {
    const openaiOnly = EndpointPolicy.platform({ OPENAI_API_KEY: key('openai') });
    expect(refusal(() => openaiOnly.resolve({ provider: 'anthropic', model: 'claude' }))).toEqual({ field: 'endpoint', message: 'this platform has no anthropic endpoint; the endpoints are "openai" (openai)' });
    expect(refusal(() => EndpointPolicy.platform({}).resolve({ provider: 'openai', model: 'm' }))).toEqual({ field: 'endpoint', message: 'this platform has no openai endpoint; the endpoints are none' });
  });

  test('describe lists what a tenant may pick, never a key; keys lists every key, to redact', () => {
    expect(policy.describe()).toEqual([
      { name: 'openai', provider: 'openai', base_url: 'https://gateway.internal/openai/v1', models: null, owner: 'platform' },
      { name: 'azure-gpt', provider: 'openai', base_url: 'https://azure.example/v1', models: ['gpt-4o*', 'o3'], owner: 'platform' },
      { name: 'claude', provider: 'anthropic', base_url: null, models: null, owner: 'platform' },
    ]);
    expect(JSON.stringify(policy.describe())).not.toContain('-key-');
    expect(policy.keys()).toEqual([key('openai'), key('azure'), key('anthropic')]);
  });

  test('a project’s endpoints are added as the project’s, and never shadow a platform name', () => {
    const withProject = policy.withProjectEndpoints([
      { name: 'mine', provider: 'openai', baseUrl: 'https://llm.project.example/v1', apiKey: key('project') },
      { name: 'openai', provider: 'openai', baseUrl: 'https://attacker.example/v1', apiKey: key('shadow') },
    ]);
    expect(withProject.describe().map((e) => [e.name, e.owner])).toEqual([['openai', 'platform'], ['azure-gpt', 'platform'], ['claude', 'platform'], ['mine', 'project']]);
    expect(withProject.resolve({ provider: 'openai', model: 'm', endpoint: 'openai' }).apiKey).toBe(key('openai'));
    expect(withProject.resolve({ provider: 'openai', model: 'm', endpoint: 'mine' })).toMatchObject({ apiKey: key('project'), owner: 'project' });
    expect(withProject.keys()).not.toContain(key('shadow'));
    expect(policy.withProjectEndpoints([])).toBe(policy);
    // The platform's own policy is unchanged.
    expect(policy.describe().map((e) => e.name)).toEqual(['openai', 'azure-gpt', 'claude']);
  });
});

describe('on a developer’s machine (evalctl run)', () => {
  test('any URL, with the provider’s key from the environment; no endpoint at all is fine', () => {
    const local = EndpointPolicy.local({ OPENAI_API_KEY: key('openai'), ANTHROPIC_API_KEY: key('anthropic') });
    expect(local.resolve({ provider: 'openai', model: 'm', baseUrl: 'http://localhost:11434/v1/' })).toEqual({ name: 'url:http://localhost:11434/v1', provider: 'openai', baseUrl: 'http://localhost:11434/v1', apiKey: key('openai') });
    expect(local.resolve({ provider: 'anthropic', model: 'm', baseUrl: 'http://127.0.0.1:9/' })).toMatchObject({ apiKey: key('anthropic') });
    const bare = EndpointPolicy.local({});
    expect(bare.resolve({ provider: 'anthropic', model: 'm' })).toEqual({ name: 'anthropic', provider: 'anthropic', apiKey: undefined });
  });

  test('configured endpoints still apply by name, with their model list', () => {
    const local = EndpointPolicy.local(env);
    expect(refusal(() => local.resolve({ provider: 'openai', model: 'gpt-3.5', endpoint: 'azure-gpt' })).field).toBe('model');
    expect(refusal(() => local.resolve({ provider: 'openai', model: 'm', endpoint: 'nope' })).field).toBe('endpoint');
  });
});

describe('endpointsFromEnvironment', () => {
  test('without LLM_ENDPOINTS: one endpoint per provider with a key or a base URL', () => {
    expect(endpointsFromEnvironment({ OPENAI_BASE_URL: 'http://fake:1/v1/' })).toEqual([{ name: 'openai', provider: 'openai', baseUrl: 'http://fake:1/v1', apiKey: undefined, owner: 'platform' }]);
    expect(endpointsFromEnvironment({ ANTHROPIC_API_KEY: key('a') })).toEqual([{ name: 'anthropic', provider: 'anthropic', baseUrl: undefined, apiKey: key('a'), owner: 'platform' }]);
    expect(endpointsFromEnvironment({ LLM_ENDPOINTS: '   ', OPENAI_API_KEY: key('o') }).map((e) => e.name)).toEqual(['openai']);
    expect(endpointsFromEnvironment({})).toEqual([]);
  });

  test('LLM_ENDPOINTS: the default key variable per provider; a key never read from the JSON', () => {
    const endpoints = endpointsFromEnvironment({ LLM_ENDPOINTS: JSON.stringify([{ name: 'o', provider: 'openai' }, { name: 'a', provider: 'anthropic' }]), OPENAI_API_KEY: key('o'), ANTHROPIC_API_KEY: key('a') });
    expect(endpoints.map((e) => [e.name, e.apiKey, e.owner])).toEqual([['o', key('o'), 'platform'], ['a', key('a'), 'platform']]);
  });

  test.each([
    ['not JSON', '[{', /^LLM_ENDPOINTS: not JSON \(/],
    ['a name with capitals', JSON.stringify([{ name: 'GPT', provider: 'openai' }]), 'LLM_ENDPOINTS[0].name: lower-case letters, digits, - and _'],
    ['an unknown provider', JSON.stringify([{ name: 'g', provider: 'gemini' }]), /^LLM_ENDPOINTS\[0\]\.provider: /],
    ['a key in the JSON', JSON.stringify([{ name: 'o', provider: 'openai', api_key: 'sk' }]), /^LLM_ENDPOINTS\[0\]: .*api_key/],
    ['a file URL', JSON.stringify([{ name: 'o', provider: 'openai', base_url: 'file:///etc/passwd' }]), /^LLM_ENDPOINTS\[0\]\.base_url: /],
    ['a key variable that is not one', JSON.stringify([{ name: 'o', provider: 'openai', api_key_env: 'my key' }]), /^LLM_ENDPOINTS\[0\]\.api_key_env: /],
    ['an empty model pattern', JSON.stringify([{ name: 'o', provider: 'openai', models: [''] }]), /^LLM_ENDPOINTS\[0\]\.models\[0\]: /],
    ['a name twice', JSON.stringify([{ name: 'o', provider: 'openai' }, { name: 'o', provider: 'anthropic' }]), 'LLM_ENDPOINTS[1].name: "o" appears twice'],
    ['an object, not a list', JSON.stringify({ name: 'o' }), /^LLM_ENDPOINTS: /],
  ])('refuses %s, naming the place', (_, value, message) => {
    expect(() => endpointsFromEnvironment({ LLM_ENDPOINTS: value })).toThrow(message);
  });
});

describe('model patterns', () => {
  test.each([
    ['gpt-4o*', 'gpt-4o', true],
    ['gpt-4o*', 'gpt-4o-mini', true],
    ['gpt-4o*', 'gpt-4', false],
    ['*-mini', 'gpt-4o-mini', true],
    ['*-mini', 'gpt-4o-mini-2024', false],
    ['gpt-*-mini', 'gpt-4o-mini', true],
    ['gpt-*-mini', 'gpt--mini', true],
    ['gpt-*-mini', 'gpt-mini', false],
    ['*', '', true],
    ['**', 'anything', true],
    ['', '', true],
    ['', 'x', false],
    ['o3', 'o3', true],
    ['o3', 'o3-mini', false],
    ['a*b*c', 'abxbxc', true],
    ['a*b*c', 'abxbxcx', false],
    ['*a', 'ba', true],
    ['a*', 'ba', false],
  ])('%j against %j: %s', (pattern, name, expected) => {
    expect(globMatches(pattern, name)).toBe(expected);
  });
});

describe('model patterns are matched without backtracking', () => {
  test('a pattern of many wildcards against a long name answers at once (a RegExp would backtrack for ages)', () => {
    const policy = EndpointPolicy.platform({ LLM_ENDPOINTS: JSON.stringify([{ name: 'own', provider: 'openai', models: ['*a*a*a*a*a*a*a*a*b'] }]) });
    expect(() => policy.resolve({ provider: 'openai', model: 'a'.repeat(200), endpoint: 'own' })).toThrow(EndpointPolicyError);
    expect(policy.resolve({ provider: 'openai', model: `${'a'.repeat(199)}b`, endpoint: 'own' }).name).toBe('own');
  }, 10_000);

  test('the matcher agrees with a regular expression on every small pattern and name', () => {
    const unit = fc.constantFrom('a', 'b', '-', '.', '*');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '-', '.'), maxLength: 10 }), (pattern, name) => {
        const reference = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
        expect(globMatches(pattern, name)).toBe(reference.test(name));
      }),
      { numRuns: 2_000 },
    );
  });

  test('model names and patterns have length limits, named in the error', () => {
    const suite = (model: string) => `name: s\ntarget: { type: openai, model: "${model}" }\nmetrics: [json_valid]\ncases: [{ input: q }]\n`;
    expect(() => parseSuiteText(suite('a'.repeat(201)), 's.yaml')).toThrow(/target\.model: .*200/);
    expect(parseSuiteText(suite('a'.repeat(200)), 's.yaml').suite.target).toMatchObject({ model: 'a'.repeat(200) });
  });
});

describe('what the mutation run asked for', () => {
  test('a star in a model name is a character like another; in a pattern it is a wildcard', () => {
    expect([globMatches('a*', 'a*b'), globMatches('a*b', 'a*b'), globMatches('a', 'a*'), globMatches('*', '*')]).toEqual([true, true, false, true]);
  });

  test('the endpoint named after the provider is its default wherever it is listed', () => {
    const policy = EndpointPolicy.platform({ LLM_ENDPOINTS: JSON.stringify([{ name: 'azure', provider: 'openai' }, { name: 'anthropic', provider: 'anthropic' }, { name: 'openai', provider: 'openai' }]) });
    expect(policy.resolve({ provider: 'openai', model: 'm' }).name).toBe('openai');
    expect(policy.resolve({ provider: 'anthropic', model: 'm' }).name).toBe('anthropic');
  });

  test('an endpoint named after another provider is never that provider’s default', () => {
    const policy = EndpointPolicy.platform({ LLM_ENDPOINTS: JSON.stringify([{ name: 'anthropic', provider: 'openai' }, { name: 'claude', provider: 'anthropic' }]) });
    expect(policy.resolve({ provider: 'anthropic', model: 'm' })).toMatchObject({ name: 'claude', provider: 'anthropic' });
    expect(policy.resolve({ provider: 'openai', model: 'm' })).toMatchObject({ name: 'anthropic', provider: 'openai' });
  });

  test('keys lists the keys there are, nothing for an endpoint without one', () => {
    expect(EndpointPolicy.platform({ OPENAI_BASE_URL: 'http://fake:1/v1', ANTHROPIC_API_KEY: key('a') }).keys()).toEqual([key('a')]);
    expect(EndpointPolicy.platform({ OPENAI_BASE_URL: 'http://fake:1/v1' }).keys()).toEqual([]);
  });

  test('the error names itself', () => {
    expect(String(new EndpointPolicyError('model', 'no'))).toBe('EndpointPolicyError: no');
  });

  test.each([
    [[{ name: 'Ab', provider: 'openai' }], /^LLM_ENDPOINTS\[0\]\.name: /],
    [[{ name: 'a!', provider: 'openai' }], /^LLM_ENDPOINTS\[0\]\.name: /],
    [[{ name: 'a', provider: 'openai', base_url: 'xhttps://llm.example/v1' }], /^LLM_ENDPOINTS\[0\]\.base_url: /],
    [[{ name: 'a', provider: 'openai', base_url: 'httpx://llm.example/v1' }], /^LLM_ENDPOINTS\[0\]\.base_url: /],
    [[{ name: 'a', provider: 'openai', api_key_env: 'lower_KEY' }], /^LLM_ENDPOINTS\[0\]\.api_key_env: /],
    [[{ name: 'a', provider: 'openai', api_key_env: 'KEY-x' }], /^LLM_ENDPOINTS\[0\]\.api_key_env: /],
  ])('LLM_ENDPOINTS %j is refused', (value, message) => {
    expect(() => endpointsFromEnvironment({ LLM_ENDPOINTS: JSON.stringify(value) })).toThrow(message);
  });

  test('http and https base URLs, and key variables with digits and underscores, are accepted', () => {
    const endpoints = endpointsFromEnvironment({ LLM_ENDPOINTS: JSON.stringify([{ name: 'a', provider: 'openai', base_url: 'http://fake:1/v1', api_key_env: '_KEY_2' }, { name: 'b-2_x', provider: 'openai', base_url: 'https://llm.example/v1' }]), _KEY_2: key('k') });
    expect(endpoints.map((e) => [e.name, e.baseUrl, e.apiKey])).toEqual([['a', 'http://fake:1/v1', key('k')], ['b-2_x', 'https://llm.example/v1', undefined]]);
  });
});
