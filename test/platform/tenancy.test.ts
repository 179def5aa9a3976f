import { randomBytes } from 'node:crypto';
import { suiteSchema, type SuiteInput } from '../../src/contracts/suite';
import { EgressGuard } from '../../src/egress/guard';
import { readTenancyConfig } from '../../src/platform/config';
import { egressGuardFor, projectEndpointPolicy, secretValues, storedForm, tenantSuiteProblems } from '../../src/platform/tenancy';
import { SecretBox } from '../../src/platform/secret-box';
import type { StoredEndpoint } from '../../src/store/postgres/endpoints';

/**
 * The tenant boundary as functions: what a submitted suite may point at, what a worker redacts, and which
 * endpoints a project's runs see. (tenant-isolation and tenant-safety run the same rules through the services.)
 */

const platformKey = `platform-${randomBytes(8).toString('hex')}`;
const tenancy = readTenancyConfig({
  OPENAI_API_KEY: platformKey,
  LLM_ENDPOINTS: JSON.stringify([
    { name: 'openai', provider: 'openai', base_url: 'https://llm.internal.example/v1/' },
    { name: 'claude', provider: 'anthropic', models: ['claude-*'] },
  ]),
  EGRESS_ALLOW: 'projectA=10.20.0.0/16,10.30.0.0/24',
});
const suite = (fields: Partial<SuiteInput>) => suiteSchema.parse({ name: 's', metrics: ['json_valid'], cases: [{ input: 'q', actual_output: '{}' }], ...fields });
const guard = new EgressGuard({ allow: [], maxResponseBytes: 1024 });

describe('tenantSuiteProblems: what a submitted suite names that the platform will not call', () => {
  test('the platform’s endpoints, by name or by default, pass', () => {
    const ok = suite({ judge: { provider: 'openai', model: 'gpt-4o-mini' }, target: { type: 'anthropic', model: 'claude-3-5-haiku', endpoint: 'claude' } });
    expect(tenantSuiteProblems(ok, tenancy.endpoints, guard)).toEqual([]);
  });

  test('every problem at once, each naming its field', () => {
    const bad = suite({
      judge: { provider: 'openai', model: 'gpt-4o-mini', base_url: 'https://evil.example/v1' },
      target: { type: 'anthropic', model: 'gpt-4o', endpoint: 'claude' },
      providers: [{ provider: 'openai', model: 'gpt-4o-mini', price: { input_per_mtok: 0, output_per_mtok: 0 } }, { provider: 'openai', model: 'gpt-4o', requests_per_minute: 5 }],
    } as Partial<SuiteInput>);
    expect(tenantSuiteProblems(bad, tenancy.endpoints, guard)).toEqual([
      { field: 'suite.judge.base_url', message: expect.stringMatching(/^https:\/\/evil\.example\/v1 is not an endpoint of this platform; name one with "endpoint"/) },
      { field: 'suite.providers[0].price', message: expect.stringMatching(/^prices are set by the platform's operator \(price table .+\); leave price out$/) },
      { field: 'suite.target.model', message: 'endpoint "claude" does not serve gpt-4o (it serves claude-*)' },
    ]);
  });

  test('an unknown endpoint for the target', () => {
    expect(tenantSuiteProblems(suite({ target: { type: 'openai', model: 'm', endpoint: 'nope' } }), tenancy.endpoints, guard)).toEqual([
      { field: 'suite.target.endpoint', message: expect.stringMatching(/^no endpoint named "nope"; the endpoints are "openai" \(openai\), "claude" \(anthropic\)$/) },
    ]);
  });

  test('an http target: a Host header in any case, and a URL the guard refuses on its face', () => {
    const http = suite({ target: { type: 'http', url: 'http://169.254.169.254/latest/', output: '$.a', headers: { HoSt: 'internal', 'x-trace': '1' } } });
    expect(tenantSuiteProblems(http, tenancy.endpoints, guard)).toEqual([
      { field: 'suite.target.headers.HoSt', message: 'the Host header is taken from the URL; leave it out' },
      { field: 'suite.target.url', message: expect.stringContaining('blocked by egress policy') },
    ]);
    const public_ = suite({ target: { type: 'http', url: 'https://agent.example.com/run', output: '$.a' } });
    expect(tenantSuiteProblems(public_, tenancy.endpoints, guard)).toEqual([]);
  });
});

describe('egressGuardFor: the operator’s exceptions for everyone, and per project', () => {
  test('a network allowed for project A is refused for project B; a network allowed for all is allowed for both', () => {
    expect(() => egressGuardFor(tenancy, 'projectA').checkUrl('http://10.20.1.5/agent')).not.toThrow();
    for (const project of ['projectA', 'projectB']) expect(() => egressGuardFor(tenancy, project).checkUrl('http://10.30.0.9/agent')).not.toThrow();
    expect(() => egressGuardFor(tenancy, 'projectA').checkUrl('http://10.30.1.9/agent')).toThrow(/blocked by egress policy/);
    expect(() => egressGuardFor(tenancy, 'projectB').checkUrl('http://10.20.1.5/agent')).toThrow(/blocked by egress policy/);
    expect(() => egressGuardFor(tenancy, 'projectB').checkUrl('http://10.21.1.5/agent')).toThrow(/blocked by egress policy/);
  });
});

describe('secretValues: what a worker redacts from a run’s stored results', () => {
  const env = { OPENAI_API_KEY: platformKey, DATABASE_PASSWORD: 'pg-password-long', SHORT_TOKEN: 'abc', HOME: '/root/not-secret' };

  test('the environment’s secrets, the endpoints’ keys, and the http target’s credential headers, longest first', () => {
    const token = `tok${randomBytes(6).toString('hex')}`;
    const http = suite({ target: { type: 'http', url: 'https://agent.example.com', output: '$.a', headers: { Authorization: `Bearer ${token}`, 'X-Api-Key': 'agent-key-12345', 'x-request-id': 'not-a-credential-123' } } });
    const values = secretValues(http, env, ['project-endpoint-key-1', undefined, 'short']);
    expect(new Set(values)).toEqual(new Set([platformKey, 'pg-password-long', 'project-endpoint-key-1', `Bearer ${token}`, token, 'agent-key-12345']));
    expect(values.map((v) => v.length)).toEqual([...values.map((v) => v.length)].sort((a, b) => b - a));
    expect(values).not.toContain('not-a-credential-123');
  });

  test('a header token shorter than 8 characters is not redacted alone (it would blank common words)', () => {
    const http = suite({ target: { type: 'http', url: 'https://agent.example.com', output: '$.a', headers: { authorization: 'Bearer abc' } } });
    expect(secretValues(http, {}, [])).toEqual(['Bearer abc']);
  });

  test('the token of a credential header: after one or more spaces, alone on its line, 8 characters or more', () => {
    const values = (value: string) => secretValues(suite({ target: { type: 'http', url: 'https://agent.example.com', output: '$.a', headers: { authorization: value } } }), {}, []);
    expect(values('Bearer  abcdefgh1')).toEqual(['Bearer  abcdefgh1', 'abcdefgh1']);
    expect(values('Bearer abcdefgh extra')).toEqual(['Bearer abcdefgh extra']);
    expect(values('x Bearer abcdefgh')).toEqual(['x Bearer abcdefgh']);
    expect(values('Bearer abcdefg')).toEqual(['Bearer abcdefg']);
  });

  test('a secret of exactly 8 characters is redacted; 7 is too short to redact without blanking words', () => {
    expect(secretValues(suite({}), {}, ['12345678', '1234567'])).toEqual(['12345678']);
  });

  test('a non-http target adds nothing of its own', () => {
    expect(secretValues(suite({}), {}, [])).toEqual([]);
  });
});

describe('storedForm: every secret redacted and every string storable, in one pass', () => {
  test('secrets anywhere in the result, longest first, and NUL and lone surrogates made storable', () => {
    const secrets = ['Bearer abcdefgh12345', 'abcdefgh12345'];
    const result = { output: 'said Bearer abcdefgh12345 then abcdefgh12345', nested: [{ reason: 'a\u0000b' }, 'x\ud800y'], score: 0.5, ok: true, none: null };
    expect(storedForm(result, secrets)).toEqual({ output: 'said [REDACTED] then [REDACTED]', nested: [{ reason: 'ab' }, 'x\ufffdy'], score: 0.5, ok: true, none: null });
  });

  test('without secrets, strings are still made storable', () => {
    expect(storedForm({ a: 'x\u0000', b: ['\udc00'] }, [])).toEqual({ a: 'x', b: ['\ufffd'] });
  });
});

describe('projectEndpointPolicy', () => {
  const row = (name: string, sealed: string, models: string[] | null = null) => ({ name, provider: 'openai', base_url: 'https://llm.project.example/v1', models, sealed_key: sealed, key_hint: '…1234' }) as unknown as StoredEndpoint;

  test('without a key box, or without stored endpoints, it is the platform’s policy', () => {
    const noBox = readTenancyConfig({ OPENAI_API_KEY: platformKey });
    expect(projectEndpointPolicy(noBox, [row('mine', 'v1.x.y.z')], true)).toBe(noBox.endpoints);
    const secret = randomBytes(32).toString('base64');
    const withBox = readTenancyConfig({ OPENAI_API_KEY: platformKey, ENDPOINT_KEYS_SECRET: secret });
    expect(projectEndpointPolicy(withBox, [], true)).toBe(withBox.endpoints);
  });

  test('a project’s endpoints are added as the project’s, with their models, after the platform’s', () => {
    const secret = randomBytes(32).toString('base64');
    const withBox = readTenancyConfig({ OPENAI_API_KEY: platformKey, ENDPOINT_KEYS_SECRET: secret });
    const sealed = new SecretBox(secret).seal('project-key-abcdef');
    const policy = projectEndpointPolicy(withBox, [row('mine', sealed, ['gpt-4o*'])], true);
    expect(policy.describe()).toEqual([
      { name: 'openai', provider: 'openai', base_url: null, models: null, owner: 'platform' },
      { name: 'mine', provider: 'openai', base_url: 'https://llm.project.example/v1', models: ['gpt-4o*'], owner: 'project' },
    ]);
    expect(policy.resolve({ provider: 'openai', model: 'gpt-4o-mini', endpoint: 'mine' })).toMatchObject({ apiKey: 'project-key-abcdef', owner: 'project' });
    expect(() => policy.resolve({ provider: 'openai', model: 'o3', endpoint: 'mine' })).toThrow('endpoint "mine" does not serve o3 (it serves gpt-4o*)');
    expect(projectEndpointPolicy(withBox, [row('mine', sealed)], false).resolve({ provider: 'openai', model: 'x', endpoint: 'mine' }).apiKey).toBeUndefined();
  });
});
