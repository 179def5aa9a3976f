import { sql, type Kysely, type Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const caseSearch: Migration = {
  async up(db: Kysely<unknown>) {
    // What the viewer's search reads: the case's id, input, actual and expected output, lower-cased, kept beside
    // the result by Postgres itself. A search then reads this narrow column instead of taking every result's
    // JSON apart (three times). Adding it rewrites run_cases once.
    await sql`ALTER TABLE run_cases ADD COLUMN search_text text GENERATED ALWAYS AS (
      lower(case_id || E'\n' || coalesce(result->>'input', '') || E'\n' || coalesce(result->>'actual_output', '') || E'\n' || coalesce(result->>'expected_output', ''))
    ) STORED`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('run_cases').dropColumn('search_text').execute();
  },
};
