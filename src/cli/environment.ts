import { z } from 'zod';
import { retryEnvironmentSchema, retryPolicyFrom, type RetryPolicy } from '../providers/retry';

/** The variables evalctl reads, parsed once at start-up; the LLM_* names are the ones the worker Deployment sets. */
const cliEnvironment = retryEnvironmentSchema.extend({
  EVAL_CACHE_DIR: z.string().min(1).default('.evalcache'),
});

export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

export function readCliEnvironment(env: NodeJS.ProcessEnv): { retry: RetryPolicy; cacheDir: string } {
  const parsed = cliEnvironment.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    throw new EnvironmentError(
      parsed.error.issues.map((i) => `environment variable ${String(i.path[0])}: ${i.message} (got "${env[String(i.path[0])]}")`).join('\n'),
    );
  }
  return { retry: retryPolicyFrom(parsed.data), cacheDir: parsed.data.EVAL_CACHE_DIR };
}
