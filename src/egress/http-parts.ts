import type { ClientRequest } from 'node:http';

/** Pieces both buffered fetches (the lean keep-alive one and the egress guard's) share. */

/** A RequestInit's headers as a plain record, for node:http. */
export function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...(headers as Record<string, string>) };
}

/** The error an aborted fetch rejects with: the signal's own reason when it is an abort or a timeout. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && (reason.name === 'AbortError' || reason.name === 'TimeoutError')) return reason;
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
  signal?.addEventListener('abort', onAbort, { once: true });
  const detach = () => signal?.removeEventListener('abort', onAbort);
  request.on('error', (error) => {
    detach();
    reject(error);
  });
  return detach;
}
