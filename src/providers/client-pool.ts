import { createHash } from 'node:crypto';
import type { CallTarget } from './types';

const digests = new Map<string, string>();

/**
 * A short digest of a key: enough to tell two keys apart in a map or cache key, never the key. Asked on every
 * call, of a handful of keys: remembered (at most 256, then forgotten and computed again).
 */
export function keyDigest(apiKey: string | undefined): string {
  if (!apiKey) return '';
  let digest = digests.get(apiKey);
  if (digest === undefined) {
    digest = createHash('sha256').update(apiKey).digest('hex').slice(0, 32);
    if (digests.size >= 256) digests.clear();
    digests.set(apiKey, digest);
  }
  return digest;
}

/** Clients kept per fetch (a run's egress guard) before the oldest are let go. */
const MAX_CLIENTS = 64;

/**
 * SDK clients keyed by everything a client was made from: the endpoint's name, URL and key, and the fetch it
 * sends through. A project's endpoint is reached through its run's egress guard, so its clients live in a map
 * held by that guard's fetch (weakly: they go when the run's boundary goes); the platform's endpoints, through
 * the process's keep-alive fetch, share one bounded map. Two projects with the same endpoint name and URL and
 * different keys never share a client, nor its key, nor its guard.
 */
export class ClientPool<T> {
  private readonly byFetch = new WeakMap<NonNullable<CallTarget['fetch']>, Map<string, T>>();
  private readonly shared = new Map<string, T>();

  get(target: CallTarget, make: () => T): T {
    let clients = this.shared;
    if (target.fetch) {
      clients = this.byFetch.get(target.fetch) ?? new Map<string, T>();
      this.byFetch.set(target.fetch, clients);
    }
    const key = `${target.name}|${target.baseUrl ?? ''}|${keyDigest(target.apiKey)}`;
    let client = clients.get(key);
    if (!client) {
      client = make();
      if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value!);
      clients.set(key, client);
    }
    return client;
  }
}
