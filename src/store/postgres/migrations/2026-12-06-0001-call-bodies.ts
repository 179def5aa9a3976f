import { sql, type Kysely, type Migration } from 'kysely';

// Frozen: a migration that has run is never edited; changes go in a new file. It imports no application code.
export const callBodies: Migration = {
  async up(db: Kysely<unknown>) {
    // Whether the workers store what each LLM call of the project's runs sent and received (the viewer's call
    // view). On unless the operator turns it off for the project (`evalctl projects set <name> --llm-call-bodies off`).
    await db.schema
      .alterTable('projects')
      .addColumn('llm_call_bodies', 'boolean', (c) => c.notNull().defaultTo(sql`true`))
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('projects').dropColumn('llm_call_bodies').execute();
  },
};
