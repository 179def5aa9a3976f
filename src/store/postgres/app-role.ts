import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** A role name `grantApplicationRole` accepts (and POSTGRES_APP_USER must be): unquoted, lower-case, at most 63 characters. */
export const POSTGRES_ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The role the services log in as, created and granted by the migration Job (which connects as the master
 * user): data access to the tables of `public` and nothing else (no DDL, no roles, no other database).
 * On RDS it is given `rds_iam`, so it can only log in with an IAM token and has no password at all.
 * Idempotent: it runs after every migration, and grants what a new migration created.
 */
export async function grantApplicationRole(db: Kysely<Database>, role: string): Promise<{ created: boolean; iam: boolean }> {
  if (!POSTGRES_ROLE_NAME.test(role)) throw new Error(`POSTGRES_APP_USER ${JSON.stringify(role)}: not a Postgres role name (lower-case letters, digits, _)`);
  const name = sql.id(role);
  return db.transaction().execute(async (trx) => {
    const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${role}`.execute(trx);
    const created = exists.rows[0].n === 0;
    if (created) await sql`CREATE ROLE ${name} LOGIN`.execute(trx);
    const database = (await sql<{ name: string }>`SELECT current_database() AS name`.execute(trx)).rows[0].name;
    await sql`GRANT CONNECT ON DATABASE ${sql.id(database)} TO ${name}`.execute(trx);
    await sql`GRANT USAGE ON SCHEMA public TO ${name}`.execute(trx);
    await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${name}`.execute(trx);
    await sql`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${name}`.execute(trx);
    await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${name}`.execute(trx);
    await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${name}`.execute(trx);
    // RDS's role for IAM authentication; absent on a plain Postgres (development, the tests).
    const iam = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'rds_iam'`.execute(trx)).rows[0].n > 0;
    if (iam) await sql`GRANT rds_iam TO ${name}`.execute(trx);
    return { created, iam };
  });
}
