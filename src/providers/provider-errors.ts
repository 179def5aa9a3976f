import { EgressBlockedError } from '../egress/guard';
import { redactSecrets } from './redact';
import { ProviderCallError, parseRetryAfter } from './retry';
import type { ProviderName } from './types';

/** The error classes both official SDKs export, under the same names. */
export interface SdkErrorClasses {
  readonly APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  readonly APIConnectionError: abstract new (...args: never[]) => Error;
  readonly APIError: abstract new (...args: never[]) => Error & { status?: number; headers?: Headers };
}

/** Normalises an SDK failure for the retry policy, with any credential redacted from its message. */
export function toCallError(error: unknown, sdk: SdkErrorClasses, provider: ProviderName, model: string, env: NodeJS.ProcessEnv): ProviderCallError {
  if (error instanceof ProviderCallError) return error;
  // The SDKs wrap whatever their fetch threw as a connection error; the egress guard's refusal is no outage
  // to retry but the answer itself, and says what was refused.
  const blocked = egressRefusal(error);
  if (blocked) throw blocked;
  const detail = redactSecrets(error instanceof Error ? error.message : String(error), env);
  if (error instanceof sdk.APIConnectionTimeoutError) return new ProviderCallError(provider, model, undefined, 'timeout', detail);
  if (error instanceof sdk.APIConnectionError) return new ProviderCallError(provider, model, undefined, 'connection', detail);
  if (error instanceof sdk.APIError && error.status !== undefined) {
    return new ProviderCallError(provider, model, error.status, 'http', detail, parseRetryAfter(error.headers));
  }
  return new ProviderCallError(provider, model, undefined, 'invalid-response', detail);
}

/** The egress guard's refusal somewhere in an error's causes. */
function egressRefusal(error: unknown): EgressBlockedError | undefined {
  for (let cause = error, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    if (cause instanceof EgressBlockedError) return cause;
  }
  return undefined;
}
