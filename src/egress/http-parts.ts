import type { ClientRequest } from 'node:http';

/** Pieces both buffered fetches (the lean keep-alive one and the egress guard's) share. */

/** A RequestInit's headers as a plain record, for node:http. */
export function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...(headers as Record<string, string>) };
}

/** The error an aborted fetch rejects with: the signal's own reason when it is an abort or a timeout. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  // By name, not instanceof: a signal's DOMException may come from another realm (a vm context, a test runner).
  const name = typeof reason === 'object' && reason !== null ? (reason as { name?: unknown }).name : undefined;
  if (name === 'AbortError' || name === 'TimeoutError') return reason as Error;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

/**
 * Ties a request to its abort signal and its errors: an abort destroys the request and rejects, a request
 * error rejects. Returns what detaches the abort listener, for when the response has ended.
 */
export function bindAbort(request: ClientRequest, signal: AbortSignal | undefined, reject: (error: unknown) => void): () => void {
  const onAbort = () => {
    const error = abortError(signal!);
    request.destroy(error);
    reject(error);
  };
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent; a signal aborts at most once, so `once` only saves a listener.
  signal?.addEventListener('abort', onAbort, { once: true });
  // Stryker disable next-line ArrowFunction,StringLiteral: equivalent; without it the listener stays on a signal that aborts at most once, and a request already answered ignores the abort.
  const detach = () => signal?.removeEventListener('abort', onAbort);
  request.on('error', (error) => {
    detach();
    reject(error);
  });
  return detach;
}
