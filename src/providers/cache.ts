import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChatRequest, ChatResponse, ModelSettings } from './types';

/** Where LLM responses are kept between runs. The directory store is the default; a Redis store plugs in here. */
export interface ResponseCache {
  get(key: string): Promise<ChatResponse | undefined>;
  set(key: string, response: ChatResponse): Promise<void>;
}

/**
 * A key over everything that shapes the reply (provider, base URL, model, sampling settings and the request) and,
 * on the platform, whose it is: the caller's scope (its project) and a digest of the key the call went out with.
 * A developer's own cache (no scope) keeps its keys across a change of API key.
 */
export function responseCacheKey(settings: ModelSettings, request: ChatRequest, owner?: { scope: string; key: string }): string {
  const material = JSON.stringify(owner ? { v: 2, settings, request, scope: owner.scope, key: owner.key } : { v: 1, settings, request });
  return createHash('sha256').update(material).digest('hex');
}

/** One JSON file per response under `<dir>/<first two hex digits>/<key>.json`, written atomically. */
export class DirectoryResponseCache implements ResponseCache {
  constructor(readonly directory: string) {}

  private path(key: string): string {
    return join(this.directory, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<ChatResponse | undefined> {
    try {
      return JSON.parse(await readFile(this.path(key), 'utf8')) as ChatResponse;
    } catch {
      // A missing or unreadable entry is a miss; the call is made and the entry rewritten.
      return undefined;
    }
  }

  async set(key: string, response: ChatResponse): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, JSON.stringify(response));
    await rename(temporary, path);
  }
}
