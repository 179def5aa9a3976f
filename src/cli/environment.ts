import { z } from 'zod';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../providers/retry';

const positiveInt = z.coerce.number().int().positive();

/** The variables evalctl reads, parsed once at start-up; the LLM_* names are the ones the worker Deployment sets. */
const cliEnvironment = z.object({
  LLM_RETRY_MAX_ATTEMPTS: positiveInt.default(DEFAULT_RETRY_POLICY.maxAttempts),
  LLM_RETRY_BASE_DELAY_MS: positiveInt.default(DEFAULT_RETRY_POLICY.baseDelayMs),
  LLM_RETRY_MAX_DELAY_MS: positiveInt.default(DEFAULT_RETRY_POLICY.maxDelayMs),
  LLM_RETRY_AFTER_CAP_MS: z.coerce.number().int().nonnegative().default(DEFAULT_RETRY_POLICY.retryAfterCapMs),
  LLM_TIMEOUT_MS: positiveInt.default(DEFAULT_RETRY_POLICY.timeoutMs),
  EVAL_CACHE_DIR: z.string().min(1).default('.evalcache'),
});

export class EnvironmentError extends Error {}

export function readCliEnvironment(env: NodeJS.ProcessEnv): { retry: RetryPolicy; cacheDir: string } {
  const parsed = cliEnvironment.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    throw new EnvironmentError(
      parsed.error.issues.map((i) => `environment variable ${String(i.path[0])}: ${i.message} (got "${env[String(i.path[0])]}")`).join('\n'),
    );
  }
  const e = parsed.data;
  return {
    retry: {
      maxAttempts: e.LLM_RETRY_MAX_ATTEMPTS,
      baseDelayMs: e.LLM_RETRY_BASE_DELAY_MS,
      maxDelayMs: e.LLM_RETRY_MAX_DELAY_MS,
      retryAfterCapMs: e.LLM_RETRY_AFTER_CAP_MS,
      timeoutMs: e.LLM_TIMEOUT_MS,
    },
    cacheDir: e.EVAL_CACHE_DIR,
  };
}
