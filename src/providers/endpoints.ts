import { z } from 'zod';
import type { ModelSettings, ProviderName } from './types';

/**
 * Where an LLM call may go and with which key. The platform's keys are bound to the endpoints its operator
 * configured; a submitted suite picks one by name (`endpoint`) or gets its provider's default, and a URL that
 * is not one of them is refused. `evalctl run` on a developer's machine keeps its freedom: any base URL, with
 * the developer's own key (`EndpointPolicy.local`).
 */
export interface LlmEndpoint {
  readonly name: string;
  readonly provider: ProviderName;
  /** Absent: the SDK's default (api.openai.com, api.anthropic.com). */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** Model names this endpoint serves (`*` wildcards); absent: any. */
  readonly models?: readonly string[];
  /** A project's own endpoint: its requests go through the egress guard, its key is the project's. */
  readonly owner?: 'platform' | 'project';
}

/** A model setting the policy refused: names the suite field to change. */
export class EndpointPolicyError extends Error {
  constructor(
    readonly field: 'base_url' | 'endpoint' | 'model',
    message: string,
  ) {
    super(message);
    this.name = 'EndpointPolicyError';
  }
}

/** `LLM_ENDPOINTS`: a JSON list; each key comes from the variable named by `api_key_env`, never from the JSON. */
const endpointsVariable = z.array(
  z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
      provider: z.enum(['openai', 'anthropic']),
      base_url: z.url({ protocol: /^https?$/ }).optional(),
      api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
      models: z.array(z.string().min(1)).optional(),
    })
    .strict(),
);

const trimSlash = (url: string | undefined) => url?.replace(/\/+$/, '');

/**
 * Whether `name` matches `pattern`, where `*` stands for any run of characters. Greedy with one remembered
 * star (no regular expression, no backtracking tree): at most pattern × name steps, 40,000 for the longest
 * pattern and model name allowed, however many stars a tenant writes.
 */
export function globMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  // Past the pattern's end, pattern[p] is undefined: it equals no character and is no star.
  while (n < name.length) {
    if (pattern[p] !== '*' && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

const modelMatches = (allowed: readonly string[] | undefined, model: string): boolean => !allowed || allowed.some((pattern) => globMatches(pattern, model));

export class EndpointPolicy {
  private constructor(
    private readonly endpoints: readonly LlmEndpoint[],
    /** Local runs: an unlisted base URL is called with the provider's key from the environment. */
    private readonly open: boolean,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * The platform's endpoints: `LLM_ENDPOINTS` when set; otherwise one per provider, `openai` (OPENAI_BASE_URL,
   * OPENAI_API_KEY) and `anthropic` (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY).
   */
  static platform(env: NodeJS.ProcessEnv): EndpointPolicy {
    return new EndpointPolicy(endpointsFromEnvironment(env), false, env);
  }

  /** A developer's own run: the configured endpoints by name, and any other base URL with the environment's key. */
  static local(env: NodeJS.ProcessEnv): EndpointPolicy {
    return new EndpointPolicy(endpointsFromEnvironment(env), true, env);
  }

  /** This policy with a project's own endpoints added (they shadow none of the platform's names). */
  withProjectEndpoints(endpoints: readonly LlmEndpoint[]): EndpointPolicy {
    if (endpoints.length === 0) return this;
    const taken = new Set(this.endpoints.map((e) => e.name));
    return new EndpointPolicy([...this.endpoints, ...endpoints.filter((e) => !taken.has(e.name)).map((e) => ({ ...e, owner: 'project' as const }))], this.open, this.env);
  }

  /** Names, providers, URLs and models of the endpoints: what a tenant may pick from (never the keys). */
  describe(): Array<{ name: string; provider: ProviderName; base_url: string | null; models: readonly string[] | null; owner: 'platform' | 'project' }> {
    return this.endpoints.map((e) => ({ name: e.name, provider: e.provider, base_url: e.baseUrl ?? null, models: e.models ?? null, owner: e.owner ?? 'platform' }));
  }

  /** The endpoints' keys: values to redact from anything stored. */
  keys(): string[] {
    return this.endpoints.flatMap((e) => (e.apiKey ? [e.apiKey] : []));
  }

  /** The endpoint a model setting is called through; throws EndpointPolicyError naming the field when there is none. */
  resolve(settings: Pick<ModelSettings, 'provider' | 'model' | 'baseUrl' | 'endpoint'>): LlmEndpoint {
    const { provider, model } = settings;
    const baseUrl = trimSlash(settings.baseUrl);
    let endpoint: LlmEndpoint | undefined;
    if (settings.endpoint !== undefined) {
      endpoint = this.endpoints.find((e) => e.name === settings.endpoint);
      if (!endpoint) throw new EndpointPolicyError('endpoint', `no endpoint named "${settings.endpoint}"; the endpoints are ${this.names()}`);
      if (endpoint.provider !== provider) throw new EndpointPolicyError('endpoint', `endpoint "${endpoint.name}" serves ${endpoint.provider}, not ${provider}`);
      if (baseUrl !== undefined && baseUrl !== trimSlash(endpoint.baseUrl)) throw new EndpointPolicyError('base_url', `leave base_url out when naming an endpoint (endpoint "${endpoint.name}" has its own)`);
    } else if (baseUrl !== undefined) {
      endpoint = this.endpoints.find((e) => e.provider === provider && trimSlash(e.baseUrl) === baseUrl);
      if (!endpoint) {
        if (!this.open) throw new EndpointPolicyError('base_url', `${baseUrl} is not an endpoint of this platform; name one with "endpoint" (${this.names()})`);
        return { name: `url:${baseUrl}`, provider, baseUrl, apiKey: this.defaultKey(provider) };
      }
    } else {
      endpoint = this.endpoints.find((e) => e.provider === provider && e.name === provider) ?? this.endpoints.find((e) => e.provider === provider);
      if (!endpoint) {
        if (!this.open) throw new EndpointPolicyError('endpoint', `this platform has no ${provider} endpoint; the endpoints are ${this.names()}`);
        return { name: provider, provider, apiKey: this.defaultKey(provider) };
      }
    }
    if (!modelMatches(endpoint.models, model)) throw new EndpointPolicyError('model', `endpoint "${endpoint.name}" does not serve ${model} (it serves ${endpoint.models!.join(', ')})`);
    return endpoint;
  }

  private names(): string {
    return this.endpoints.length ? this.endpoints.map((e) => `"${e.name}" (${e.provider})`).join(', ') : 'none';
  }

  private defaultKey(provider: ProviderName): string | undefined {
    return provider === 'openai' ? this.env.OPENAI_API_KEY : this.env.ANTHROPIC_API_KEY;
  }
}

/** The endpoints an environment configures (see `EndpointPolicy.platform`). */
export function endpointsFromEnvironment(env: NodeJS.ProcessEnv): LlmEndpoint[] {
  const raw = env.LLM_ENDPOINTS?.trim();
  if (raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new Error(`LLM_ENDPOINTS: not JSON (${(error as Error).message})`);
    }
    const result = endpointsVariable.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new Error(`LLM_ENDPOINTS${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`);
    }
    const names = new Set<string>();
    return result.data.map((e, i) => {
      if (names.has(e.name)) throw new Error(`LLM_ENDPOINTS[${i}].name: "${e.name}" appears twice`);
      names.add(e.name);
      const keyVariable = e.api_key_env ?? (e.provider === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY');
      return { name: e.name, provider: e.provider, baseUrl: trimSlash(e.base_url), apiKey: env[keyVariable], models: e.models, owner: 'platform' as const };
    });
  }
  const endpoints: LlmEndpoint[] = [];
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) endpoints.push({ name: 'openai', provider: 'openai', baseUrl: trimSlash(env.OPENAI_BASE_URL), apiKey: env.OPENAI_API_KEY, owner: 'platform' });
  if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL) endpoints.push({ name: 'anthropic', provider: 'anthropic', baseUrl: trimSlash(env.ANTHROPIC_BASE_URL), apiKey: env.ANTHROPIC_API_KEY, owner: 'platform' });
  return endpoints;
}
