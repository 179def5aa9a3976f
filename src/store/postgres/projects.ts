import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Project } from './schema';

export const API_KEY_PREFIX = 'aiev_';

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** Turns the storing of LLM calls' texts on or off for a project; false when there is no such project. */
export async function setProjectCallBodies(db: Kysely<Database>, name: string, on: boolean): Promise<boolean> {
  const updated = await db.updateTable('projects').set({ llm_call_bodies: on }).where('name', '=', name).executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

/** How many days a project's spans are kept (null: the environment's default); false when there is no such project. */
export async function setProjectTraceRetention(db: Kysely<Database>, name: string, days: number | null): Promise<boolean> {
  const updated = await db.updateTable('projects').set({ trace_retention_days: days }).where('name', '=', name).executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

export async function ensureProject(db: Kysely<Database>, name: string): Promise<Project> {
  await db.insertInto('projects').values({ name }).onConflict((oc) => oc.column('name').doNothing()).execute();
  return db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
}

/** Whether `key` has the form keys are issued in (the prefix and 24 random bytes, base64url). */
export const isWellFormedApiKey = (key: string): boolean => key.startsWith(API_KEY_PREFIX) && /^[A-Za-z0-9_-]{32}$/.test(key.slice(API_KEY_PREFIX.length));

/** Creates a key for the project (creating the project if needed). The key is returned once; only its hash is kept. */
export async function createApiKey(db: Kysely<Database>, projectName: string): Promise<{ key: string; project: Project }> {
  const project = await ensureProject(db, projectName);
  const key = `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
  await db
    .insertInto('api_keys')
    .values({ project_id: project.id, key_hash: hashApiKey(key), key_prefix: key.slice(0, API_KEY_PREFIX.length + 6) })
    .execute();
  return { key, project };
}

/** Revokes a key (given whole, or by the prefix listings show); true when a key was revoked. */
export async function revokeApiKey(db: Kysely<Database>, keyOrPrefix: string): Promise<boolean> {
  const query = db.updateTable('api_keys').set({ revoked_at: new Date() }).where('revoked_at', 'is', null);
  const rows = await (keyOrPrefix.length > API_KEY_PREFIX.length + 6
    ? query.where('key_hash', '=', hashApiKey(keyOrPrefix))
    : query.where('key_prefix', '=', keyOrPrefix)
  )
    .returning('id')
    .execute();
  return rows.length > 0;
}

/** The project a key belongs to, with the key's id, unless the key is unknown or revoked. */
export async function projectForKey(db: Kysely<Database>, key: string): Promise<(Project & { key_id: string }) | undefined> {
  return db
    .selectFrom('api_keys')
    .innerJoin('projects', 'projects.id', 'api_keys.project_id')
    .select(['projects.id', 'projects.name', 'projects.created_at', 'projects.trace_retention_days', 'api_keys.id as key_id'])
    .where('api_keys.key_hash', '=', hashApiKey(key))
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function createDatasetVersion(
  db: Kysely<Database>,
  projectId: string,
  name: string,
  cases: unknown[],
): Promise<{ name: string; version: number; case_count: number; id: string }> {
  return newDatasetVersion(db, projectId, name, cases);
}

/**
 * A dataset's next version (1 when the dataset is new) under the dataset's lock: `cases`, or made from the latest
 * version's (read only then), so two versions made at once are numbered apart and neither's cases are lost.
 */
async function newDatasetVersion(
  db: Kysely<Database>,
  projectId: string,
  name: string,
  casesOf: unknown[] | ((latest: unknown[]) => unknown[]),
): Promise<{ name: string; version: number; case_count: number; id: string }> {
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('datasets').values({ project_id: projectId, name }).onConflict((oc) => oc.columns(['project_id', 'name']).doNothing()).execute();
    const dataset = await trx.selectFrom('datasets').select('id').where('project_id', '=', projectId).where('name', '=', name).forUpdate().executeTakeFirstOrThrow();
    const latest = await trx.selectFrom('dataset_versions').select('version').where('dataset_id', '=', dataset.id).orderBy('version', 'desc').limit(1).executeTakeFirst();
    const previous = async () =>
      latest ? ((await trx.selectFrom('dataset_versions').select('cases').where('dataset_id', '=', dataset.id).where('version', '=', latest.version).executeTakeFirstOrThrow()).cases as unknown[]) : [];
    const cases = Array.isArray(casesOf) ? casesOf : casesOf(await previous());
    const row = await trx
      .insertInto('dataset_versions')
      .values({ dataset_id: dataset.id, version: (latest?.version ?? 0) + 1, cases: JSON.stringify(cases), case_count: cases.length })
      .returning(['id', 'version', 'case_count'])
      .executeTakeFirstOrThrow();
    return { name, ...row };
  });
}

export async function listDatasets(db: Kysely<Database>, projectId: string) {
  return db
    .selectFrom('datasets')
    .innerJoin('dataset_versions', 'dataset_versions.dataset_id', 'datasets.id')
    .select(['datasets.name', 'dataset_versions.version', 'dataset_versions.case_count', 'dataset_versions.created_at'])
    .where('datasets.project_id', '=', projectId)
    .orderBy('datasets.name')
    .orderBy('dataset_versions.version', 'desc')
    .execute();
}

export async function getDatasetVersion(db: Kysely<Database>, projectId: string, name: string, version: number) {
  return db
    .selectFrom('datasets')
    .innerJoin('dataset_versions', 'dataset_versions.dataset_id', 'datasets.id')
    .select(['dataset_versions.id', 'dataset_versions.version', 'dataset_versions.cases', 'dataset_versions.case_count'])
    .where('datasets.project_id', '=', projectId)
    .where('datasets.name', '=', name)
    .where('dataset_versions.version', '=', version)
    .executeTakeFirst();
}

/** Adds one case to a dataset as a new version: the latest version's cases and this one. */
export async function appendDatasetCase(db: Kysely<Database>, projectId: string, name: string, testCase: unknown): Promise<{ name: string; version: number; case_count: number }> {
  const { id: _id, ...made } = await newDatasetVersion(db, projectId, name, (latest) => [...latest, testCase]);
  return made;
}
