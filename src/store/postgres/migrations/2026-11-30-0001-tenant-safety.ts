import { sql, type Kysely, type Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const tenantSafety: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('runs')
      // sha256 of the submitted body: an Idempotency-Key reused with another body is refused.
      .addColumn('request_hash', 'text')
      // USD spent on LLM calls by the cases counted so far, and the run's budget.
      .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('max_cost_usd', 'double precision')
      .execute();
    // ClickHouse rows of counted cases, written in the transaction that counts them and drained to ClickHouse:
    // a ClickHouse outage delays the rows, it never loses them or fails a case.
    await db.schema
      .createTable('clickhouse_outbox')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('table_name', 'text', (c) => c.notNull())
      .addColumn('rows', 'jsonb', (c) => c.notNull())
      .addColumn('row_count', 'integer', (c) => c.notNull())
      // A drainer's lease; an expired lease lets another drainer take the rows (the insert is deduplicated).
      .addColumn('claimed_until', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    // A project's own LLM endpoints: its URL (reached through the egress guard) and its key, sealed with
    // AES-256-GCM under ENDPOINT_KEYS_SECRET; the key is never returned or logged.
    await db.schema
      .createTable('project_endpoints')
      .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('base_url', 'text', (c) => c.notNull())
      .addColumn('models', 'jsonb')
      .addColumn('sealed_key', 'text', (c) => c.notNull())
      .addColumn('key_hint', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('project_endpoints_pk', ['project_id', 'name'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('project_endpoints').execute();
    await db.schema.dropTable('clickhouse_outbox').execute();
    await db.schema.alterTable('runs').dropColumn('request_hash').dropColumn('cost_usd').dropColumn('max_cost_usd').execute();
  },
};
