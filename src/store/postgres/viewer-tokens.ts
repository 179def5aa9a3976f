import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, Project, ViewerTokenTable } from './schema';

const hashToken = (token: string): string => createHash('sha256').update(`viewer:${token}`).digest('hex');

/** A token as the viewer's cookie or link carries it: 32 random bytes, base64url. */
export const isWellFormedViewerToken = (token: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(token);

export interface ViewerGrant {
  kind: ViewerTokenTable['kind'];
  project: Project;
  apiKeyId: string;
  reviewer: string | null;
  /** null: every run of the project. */
  runIds: string[] | null;
  expiresAt: Date;
}

/** Issues a session or link token; only its hash is stored. Returns the token, which is shown once. */
export async function issueViewerToken(db: Kysely<Database>, grant: Omit<ViewerGrant, 'project'> & { projectId: string }): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('viewer_tokens')
    .values({
      token_hash: hashToken(token),
      kind: grant.kind,
      project_id: grant.projectId,
      api_key_id: grant.apiKeyId,
      reviewer: grant.reviewer,
      run_ids: grant.runIds === null ? null : sql<string[]>`${sql.val(grant.runIds)}::uuid[]`,
      expires_at: grant.expiresAt,
    })
    .execute();
  return token;
}

/** What a token grants, unless it is unknown, expired, or its key was revoked. */
export async function viewerGrant(db: Kysely<Database>, token: string): Promise<ViewerGrant | undefined> {
  if (!isWellFormedViewerToken(token)) return undefined;
  const row = await db
    .selectFrom('viewer_tokens')
    .innerJoin('api_keys', 'api_keys.id', 'viewer_tokens.api_key_id')
    .innerJoin('projects', 'projects.id', 'viewer_tokens.project_id')
    .select([
      'viewer_tokens.kind',
      'viewer_tokens.reviewer',
      'viewer_tokens.run_ids',
      'viewer_tokens.expires_at',
      'viewer_tokens.api_key_id',
      'projects.id',
      'projects.name',
      'projects.created_at',
    ])
    .where('viewer_tokens.token_hash', '=', hashToken(token))
    .where('viewer_tokens.expires_at', '>', sql<Date>`now()`)
    .where('api_keys.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    kind: row.kind,
    project: { id: row.id, name: row.name, created_at: row.created_at },
    apiKeyId: row.api_key_id,
    reviewer: row.reviewer,
    runIds: row.run_ids,
    expiresAt: new Date(row.expires_at),
  };
}

/** Ends a session (logging out); expired tokens of any kind are removed on the way. */
export async function revokeViewerToken(db: Kysely<Database>, token: string): Promise<void> {
  await db.deleteFrom('viewer_tokens').where((eb) => eb.or([eb('token_hash', '=', hashToken(token)), eb('expires_at', '<', sql<Date>`now()`)])).execute();
}
