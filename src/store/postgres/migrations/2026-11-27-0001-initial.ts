import { sql, type Kysely, type Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('projects')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('key_prefix', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('revoked_at', 'timestamptz')
      .execute();
    await db.schema.createIndex('api_keys_project').on('api_keys').column('project_id').execute();
    await db.schema
      .createTable('datasets')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addUniqueConstraint('datasets_project_name', ['project_id', 'name'])
      .execute();
    await db.schema
      .createTable('dataset_versions')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('dataset_id', 'uuid', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('cases', 'jsonb', (c) => c.notNull())
      .addColumn('case_count', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addUniqueConstraint('dataset_versions_dataset_version', ['dataset_id', 'version'])
      .execute();
    await db.schema
      .createTable('runs')
      .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('suite_name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('suite', 'jsonb', (c) => c.notNull())
      .addColumn('dataset_version_id', 'uuid', (c) => c.references('dataset_versions.id'))
      .addColumn('build', 'jsonb', (c) => c.notNull())
      .addColumn('branch', 'text')
      .addColumn('idempotency_key', 'text')
      .addColumn('total_cases', 'integer', (c) => c.notNull())
      .addColumn('completed_cases', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('passed_cases', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_cases', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('errored_cases', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('summary', 'jsonb')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('started_at', 'timestamptz')
      .addColumn('finished_at', 'timestamptz')
      .addUniqueConstraint('runs_project_idempotency_key', ['project_id', 'idempotency_key'])
      .execute();
    // GET /v1/runs lists a project's runs newest first, optionally by branch or status, with a (created_at, id) cursor.
    await db.schema.createIndex('runs_project_created').on('runs').columns(['project_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('runs_project_branch_created').on('runs').columns(['project_id', 'branch', 'created_at']).execute();
    await db.schema.createIndex('runs_project_status_created').on('runs').columns(['project_id', 'status', 'created_at']).execute();
    await db.schema
      .createTable('run_cases')
      .addColumn('run_id', 'uuid', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('case_index', 'integer', (c) => c.notNull())
      .addColumn('case_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('result', 'jsonb')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('run_cases_pk', ['run_id', 'case_index'])
      .execute();
    // Results pages and "failed only" read a run's cases by status.
    await db.schema.createIndex('run_cases_run_status').on('run_cases').columns(['run_id', 'status', 'case_index']).execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['run_cases', 'runs', 'dataset_versions', 'datasets', 'api_keys', 'projects']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
