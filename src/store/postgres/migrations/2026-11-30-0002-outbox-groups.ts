import type { Kysely, Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const outboxGroups: Migration = {
  async up(db: Kysely<unknown>) {
    // The ClickHouse insert an outbox row went into, named by its smallest outbox id: set before the first
    // attempt, so every retry inserts the same rows under the same deduplication token.
    await db.schema.alterTable('clickhouse_outbox').addColumn('drain_group', 'bigint').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('clickhouse_outbox').dropColumn('drain_group').execute();
  },
};
