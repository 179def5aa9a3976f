import { sql, type Kysely, type Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const viewer: Migration = {
  async up(db: Kysely<unknown>) {
    // A person's verdict on one LLM-judged metric of one case: beside the score, never changing it. One per
    // reviewer and metric of a case (a second review by the same reviewer replaces the first).
    await db.schema
      .createTable('case_reviews')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('case_index', 'integer', (c) => c.notNull())
      .addColumn('metric', 'text', (c) => c.notNull())
      .addColumn('reviewer', 'text', (c) => c.notNull())
      .addColumn('agree', 'boolean', (c) => c.notNull())
      // The judge's pass/fail when the review was made, and the reviewer's (null: the opposite of the judge's when disagreeing).
      .addColumn('judge_passed', 'boolean', (c) => c.notNull())
      .addColumn('corrected_passed', 'boolean')
      .addColumn('comment', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addUniqueConstraint('case_reviews_one_per_reviewer', ['run_id', 'case_index', 'metric', 'reviewer'])
      .execute();
    // Agreement is counted per project and metric.
    await db.schema.createIndex('case_reviews_project_metric').on('case_reviews').columns(['project_id', 'metric']).execute();
    // The viewer's browser sessions (after a key was entered) and the links a pull-request comment carries: only
    // a hash of the token is stored. `run_ids` null: every run of the project; else only those runs.
    await db.schema
      .createTable('viewer_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('api_key_id', 'uuid', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
      .addColumn('reviewer', 'text')
      .addColumn('run_ids', sql`uuid[]`)
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('viewer_tokens_expires').on('viewer_tokens').column('expires_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('viewer_tokens').execute();
    await db.schema.dropTable('case_reviews').execute();
  },
};
