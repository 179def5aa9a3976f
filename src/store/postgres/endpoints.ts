import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** A project's own LLM endpoint as stored: the key only sealed. */
export interface StoredEndpoint {
  name: string;
  provider: 'openai' | 'anthropic';
  base_url: string;
  models: string[] | null;
  sealed_key: string;
  key_hint: string;
  updated_at: Date;
}

export async function putProjectEndpoint(db: Kysely<Database>, projectId: string, endpoint: Omit<StoredEndpoint, 'updated_at'>): Promise<StoredEndpoint> {
  const values = { ...endpoint, models: endpoint.models === null ? null : JSON.stringify(endpoint.models) };
  return db
    .insertInto('project_endpoints')
    .values({ project_id: projectId, ...values })
    .onConflict((oc) => oc.columns(['project_id', 'name']).doUpdateSet({ ...values, updated_at: sql`now()` }))
    .returning(['name', 'provider', 'base_url', 'models', 'sealed_key', 'key_hint', 'updated_at'])
    .executeTakeFirstOrThrow();
}

export async function listProjectEndpoints(db: Kysely<Database>, projectId: string): Promise<StoredEndpoint[]> {
  return db
    .selectFrom('project_endpoints')
    .select(['name', 'provider', 'base_url', 'models', 'sealed_key', 'key_hint', 'updated_at'])
    .where('project_id', '=', projectId)
    .orderBy('name')
    .execute();
}

export async function deleteProjectEndpoint(db: Kysely<Database>, projectId: string, name: string): Promise<boolean> {
  const rows = await db.deleteFrom('project_endpoints').where('project_id', '=', projectId).where('name', '=', name).returning('name').execute();
  return rows.length > 0;
}
