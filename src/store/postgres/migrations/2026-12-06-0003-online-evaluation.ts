import { sql, type Kysely, type Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const onlineEvaluation: Migration = {
  async up(db: Kysely<unknown>) {
    // A project's online evaluators: which production spans (or conversations) to sample and score, how.
    // `watermark`: the scheduler has taken every span ingested before it (a window is claimed by moving it); in
    // milliseconds, as the scheduler reads and compares it.
    await db.schema
      .createTable('online_evaluators')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('config', 'jsonb', (c) => c.notNull())
      .addColumn('watermark', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addUniqueConstraint('online_evaluators_project_name', ['project_id', 'name'])
      .execute();
    // The evaluator whose sample a run scores; null for the runs clients submit.
    await db.schema.alterTable('runs').addColumn('online_evaluator', 'text').execute();
    await db.schema.createIndex('runs_online_spend').on('runs').columns(['project_id', 'online_evaluator', 'created_at']).where(sql.ref('online_evaluator'), 'is not', null).execute();
    // Days a project's spans are kept in ClickHouse; null: the environment's TRACE_RETENTION_DAYS.
    await db.schema.alterTable('projects').addColumn('trace_retention_days', 'integer').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('projects').dropColumn('trace_retention_days').execute();
    await db.schema.dropIndex('runs_online_spend').execute();
    await db.schema.alterTable('runs').dropColumn('online_evaluator').execute();
    await db.schema.dropTable('online_evaluators').execute();
  },
};
