import type { Suite } from '../contracts/suite';
import { mapStrings, storableText } from '../contracts/text';
import { CREDENTIAL_HEADER, EgressBlockedError, EgressGuard, type AllowRule } from '../egress/guard';
import { EndpointPolicyError, type EndpointPolicy } from '../providers/endpoints';
import { PRICE_TABLE_VERSION } from '../providers/pricing';
import type { StoredEndpoint } from '../store/postgres/endpoints';
import { SealedValueError, type SecretBox } from './secret-box';
import { environmentSecrets } from '../providers/redact';

/**
 * The tenant boundary of the platform: what a submitted suite may point at (the operator's LLM endpoints by
 * name, URLs the egress guard allows), and which values never reach storage (keys, secret headers).
 */

export interface TenancyConfig {
  /** The platform's LLM endpoints, with their keys. */
  readonly endpoints: EndpointPolicy;
  /** `EGRESS_ALLOW`: exceptions for every project, and per project. */
  readonly egressAllow: { readonly all: readonly AllowRule[]; readonly byProject: ReadonlyMap<string, readonly AllowRule[]> };
  readonly egressMaxResponseBytes: number;
  /** Seals projects' own endpoint keys (ENDPOINT_KEYS_SECRET); absent, projects cannot register endpoints. */
  readonly keyBox?: SecretBox;
}

/**
 * The endpoint policy of one project's runs: the platform's endpoints, then the project's own (their keys
 * opened only where a call is made: `withKeys`, in the workers).
 */
export function projectEndpointPolicy(tenancy: TenancyConfig, stored: readonly StoredEndpoint[], withKeys: boolean): EndpointPolicy {
  if (!tenancy.keyBox) return tenancy.endpoints;
  const box = tenancy.keyBox;
  const keyOf = (e: StoredEndpoint): string => {
    try {
      return box.open(e.sealed_key);
    } catch (error) {
      // The message a run's cases carry: which endpoint, and what its owner can do.
      throw new SealedValueError(`endpoint "${e.name}": ${(error as Error).message}; register its key again (PUT /v1/endpoints/${e.name})`);
    }
  };
  return tenancy.endpoints.withProjectEndpoints(
    stored.map((e) => ({ name: e.name, provider: e.provider, baseUrl: e.base_url, models: e.models ?? undefined, apiKey: withKeys ? keyOf(e) : undefined })),
  );
}

export interface SuiteProblem {
  readonly field: string;
  readonly message: string;
}

/** The egress guard of one project's requests. */
export function egressGuardFor(tenancy: TenancyConfig, project: string): EgressGuard {
  return new EgressGuard({
    allow: [...tenancy.egressAllow.all, ...(tenancy.egressAllow.byProject.get(project) ?? [])],
    maxResponseBytes: tenancy.egressMaxResponseBytes,
  });
}

/**
 * What a submitted suite names that the platform will not call: a model URL that is not an endpoint, an
 * unknown endpoint, a model the endpoint does not serve, an `http` target URL the egress guard refuses on its
 * face (scheme, an address written in the URL, localhost). Host names are resolved and checked again at call
 * time, on every connection and redirect.
 */
export function tenantSuiteProblems(suite: Suite, endpoints: EndpointPolicy, guard: EgressGuard): SuiteProblem[] {
  const problems: SuiteProblem[] = [];
  const check = (where: string, settings: { provider: 'openai' | 'anthropic'; model: string; base_url?: string; endpoint?: string }) => {
    try {
      endpoints.resolve({ provider: settings.provider, model: settings.model, baseUrl: settings.base_url, endpoint: settings.endpoint });
    } catch (error) {
      if (!(error instanceof EndpointPolicyError)) throw error;
      problems.push({ field: `suite.${where}.${error.field}`, message: error.message });
    }
  };
  if (suite.judge) check('judge', suite.judge);
  // Prices are the operator's (the price table): a tenant's price would change what its budget and every
  // report say it spent. Its rate limits are accepted: they bind its own run only.
  suite.providers.forEach((entry, i) => {
    if (entry.price) problems.push({ field: `suite.providers[${i}].price`, message: `prices are set by the platform's operator (price table ${PRICE_TABLE_VERSION}); leave price out` });
  });
  const target = suite.target;
  if (target.type === 'openai' || target.type === 'anthropic') check('target', { ...target, provider: target.type });
  if (target.type === 'http') {
    for (const name of Object.keys(target.headers)) {
      if (name.toLowerCase() === 'host') problems.push({ field: `suite.target.headers.${name}`, message: 'the Host header is taken from the URL; leave it out' });
    }
    try {
      guard.checkUrl(target.url);
    } catch (error) {
      if (!(error instanceof EgressBlockedError)) throw error;
      problems.push({ field: 'suite.target.url', message: error.message });
    }
  }
  return problems;
}


/**
 * The values to redact from one run's stored results: the environment's secrets (LLM keys, store passwords),
 * the endpoints' keys, and the values of the `http` target's credential headers.
 */
export function secretValues(suite: Suite, env: NodeJS.ProcessEnv, endpointKeys: readonly (string | undefined)[]): string[] {
  const values = new Set<string>();
  for (const value of environmentSecrets(env)) values.add(value);
  for (const key of endpointKeys) if (key) values.add(key);
  if (suite.target.type === 'http') {
    for (const [name, value] of Object.entries(suite.target.headers)) {
      if (!CREDENTIAL_HEADER.test(name)) continue;
      values.add(value);
      // `Bearer <token>`: the token alone is as secret as the whole value.
      const token = /^\S+\s+(\S{8,})$/.exec(value)?.[1];
      if (token) values.add(token);
    }
  }
  // Longest first, so a value that contains another is replaced whole.
  return [...values].filter((v) => v.length >= 8).sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by `[REDACTED]`. */
function redactText(text: string, secrets: readonly string[]): string {
  let result = text;
  // Stryker disable next-line ConditionalExpression: equivalent; the check only spares a split and join that would change nothing.
  for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join('[REDACTED]');
  return result;
}

/**
 * What a worker stores of a case's result, in one pass: every secret redacted, and every string made storable
 * (`storableText`: no NUL, no lone surrogate), so neither a key nor what a tenant's target returned can reach
 * Postgres as it was.
 */
export function storedForm<T>(value: T, secrets: readonly string[]): T {
  return mapStrings(value, (text) => storableText(redactText(text, secrets)));
}
