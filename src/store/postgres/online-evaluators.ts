import { sql, type Kysely, type Selectable } from 'kysely';
import type { OnlineEvaluatorConfig } from '../../contracts/online';
import type { Database, OnlineEvaluatorTable } from './schema';

export type OnlineEvaluatorRow = Selectable<OnlineEvaluatorTable>;

/**
 * Creates or replaces a project's evaluator; `created` when it is new. A replaced one keeps its watermark, unless
 * it was disabled and is enabled again: then it starts from now.
 */
export async function putOnlineEvaluator(db: Kysely<Database>, projectId: string, name: string, config: OnlineEvaluatorConfig): Promise<{ row: OnlineEvaluatorRow; created: boolean }> {
  const row = await db
    .insertInto('online_evaluators')
    .values({ project_id: projectId, name, config: JSON.stringify(config) })
    .onConflict((oc) =>
      oc.columns(['project_id', 'name']).doUpdateSet({
        config: JSON.stringify(config),
        updated_at: sql`now()`,
        // Turned back on after a pause: it starts from now, not from the spans of the whole pause.
        watermark: sql`CASE WHEN (online_evaluators.config->>'enabled')::boolean IS FALSE AND (excluded.config->>'enabled')::boolean THEN date_trunc('milliseconds', now()) ELSE online_evaluators.watermark END`,
      }),
    )
    .returningAll()
    .returning(sql<boolean>`(xmax = 0)`.as('created'))
    .executeTakeFirstOrThrow();
  const { created, ...rest } = row;
  return { row: rest, created };
}

export async function getOnlineEvaluator(db: Kysely<Database>, projectId: string, name: string): Promise<OnlineEvaluatorRow | undefined> {
  return db.selectFrom('online_evaluators').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
}

export async function listOnlineEvaluators(db: Kysely<Database>, projectId: string): Promise<OnlineEvaluatorRow[]> {
  return db.selectFrom('online_evaluators').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
}

export async function deleteOnlineEvaluator(db: Kysely<Database>, projectId: string, name: string): Promise<boolean> {
  const deleted = await db.deleteFrom('online_evaluators').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
  return Number(deleted.numDeletedRows) > 0;
}

/** Every project's evaluators, with the project's name: what the scheduler walks and the threshold series export. */
export async function allOnlineEvaluators(db: Kysely<Database>): Promise<Array<OnlineEvaluatorRow & { project_name: string }>> {
  return db
    .selectFrom('online_evaluators')
    .innerJoin('projects', 'projects.id', 'online_evaluators.project_id')
    .selectAll('online_evaluators')
    .select('projects.name as project_name')
    .orderBy('online_evaluators.created_at')
    .execute();
}

/**
 * Claims the window from the evaluator's watermark (`from`, as read) to `to` by moving the watermark: true for
 * the one caller (of any orchestrator replica) whose read was current. A window is claimed once.
 */
export async function claimOnlineWindow(db: Kysely<Database>, id: string, from: Date, to: Date): Promise<boolean> {
  const moved = await db.updateTable('online_evaluators').set({ watermark: to }).where('id', '=', id).where('watermark', '=', from).where('watermark', '<', to).executeTakeFirst();
  return Number(moved.numUpdatedRows) > 0;
}

/** USD each of a project's evaluators' runs have spent today (UTC), by evaluator name. */
export async function onlineSpendToday(db: Kysely<Database>, projectId: string): Promise<Map<string, number>> {
  const rows = await sql<{ evaluator: string; spent: number }>`
    SELECT online_evaluator AS evaluator, coalesce(sum(cost_usd), 0)::float8 AS spent
    FROM runs
    WHERE project_id = ${projectId} AND online_evaluator IS NOT NULL AND created_at >= date_trunc('day', now(), 'UTC')
    GROUP BY online_evaluator`.execute(db);
  return new Map(rows.rows.map((r) => [r.evaluator, Number(r.spent)]));
}
