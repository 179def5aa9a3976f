import type { RedisClient } from 'redis';
import type { ResponseCache } from './cache';
import type { ChatResponse } from './types';

/** The LLM response cache shared by every worker: one Redis string per response, with a TTL. */
export class RedisResponseCache implements ResponseCache {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix = 'evalcache:',
    private readonly ttlSeconds = 7 * 24 * 3600,
  ) {}

  get(key: string): Promise<ChatResponse | undefined> {
    return new Promise((resolve) => {
      this.client.get(this.prefix + key, (error, value) => {
        // A cache that cannot answer is a miss: the call is made.
        if (error || !value) return resolve(undefined);
        try {
          resolve(JSON.parse(value) as ChatResponse);
        } catch {
          resolve(undefined);
        }
      });
    });
  }

  set(key: string, response: ChatResponse): Promise<void> {
    return new Promise((resolve) => {
      this.client.set(this.prefix + key, JSON.stringify(response), 'EX', this.ttlSeconds, () => resolve());
    });
  }
}
