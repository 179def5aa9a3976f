import { sql, type Kysely } from 'kysely';
import type { ReviewView } from '../../contracts/api';
import type { CaseReview, Database } from './schema';

export interface ReviewInput {
  projectId: string;
  runId: string;
  caseIndex: number;
  metric: string;
  reviewer: string;
  agree: boolean;
  judgePassed: boolean;
  correctedPassed: boolean | null;
  comment: string | null;
}

/** Records a review; the same reviewer's earlier review of the same metric of the case is replaced. */
export async function saveReview(db: Kysely<Database>, input: ReviewInput): Promise<CaseReview> {
  const values = {
    project_id: input.projectId,
    run_id: input.runId,
    case_index: input.caseIndex,
    metric: input.metric,
    reviewer: input.reviewer,
    agree: input.agree,
    judge_passed: input.judgePassed,
    corrected_passed: input.correctedPassed,
    comment: input.comment,
  };
  return db
    .insertInto('case_reviews')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['run_id', 'case_index', 'metric', 'reviewer']).doUpdateSet({
        agree: input.agree,
        judge_passed: input.judgePassed,
        corrected_passed: input.correctedPassed,
        comment: input.comment,
        updated_at: sql`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A run's reviews (or one case's), by case and metric. */
export async function listReviews(db: Kysely<Database>, projectId: string, runId: string, caseIndex?: number): Promise<CaseReview[]> {
  let query = db.selectFrom('case_reviews').selectAll().where('project_id', '=', projectId).where('run_id', '=', runId);
  if (caseIndex !== undefined) query = query.where('case_index', '=', caseIndex);
  return query.orderBy('case_index').orderBy('metric').orderBy('updated_at').execute();
}

/** Per metric, the judge's pass/fail against the reviewers' (2 × 2) and how many reviews agreed. */
export interface AgreementCounts {
  metric: string;
  reviews: number;
  agreed: number;
  /** judge × reviewer: pass/pass, pass/fail, fail/pass, fail/fail. */
  pass_pass: number;
  pass_fail: number;
  fail_pass: number;
  fail_fail: number;
}

/** The reviewer's pass/fail: the judge's when agreeing; when disagreeing, the correction or else the opposite. */
const HUMAN_PASSED = sql<boolean>`CASE WHEN agree THEN judge_passed ELSE coalesce(corrected_passed, NOT judge_passed) END`;

/**
 * Review counts per metric of a project (all projects with `projectId` null, for the Prometheus export), most
 * reviewed first, at most `limit` metrics.
 */
export async function agreementCounts(
  db: Kysely<Database>,
  /** `runIds`: only reviews of these runs (a read-only link's). */
  filter: { projectId: string | null; metric?: string; runId?: string; runIds?: readonly string[]; limit?: number },
): Promise<Array<AgreementCounts & { project: string }>> {
  const rows = await sql<AgreementCounts & { project: string }>`
    SELECT p.name AS project, r.metric,
      count(*)::int AS reviews,
      count(*) FILTER (WHERE r.agree)::int AS agreed,
      count(*) FILTER (WHERE r.judge_passed AND ${HUMAN_PASSED})::int AS pass_pass,
      count(*) FILTER (WHERE r.judge_passed AND NOT ${HUMAN_PASSED})::int AS pass_fail,
      count(*) FILTER (WHERE NOT r.judge_passed AND ${HUMAN_PASSED})::int AS fail_pass,
      count(*) FILTER (WHERE NOT r.judge_passed AND NOT ${HUMAN_PASSED})::int AS fail_fail
    FROM case_reviews r JOIN projects p ON p.id = r.project_id
    WHERE (${filter.projectId}::uuid IS NULL OR r.project_id = ${filter.projectId}::uuid)
      AND (${filter.metric ?? null}::text IS NULL OR r.metric = ${filter.metric ?? null}::text)
      AND (${filter.runId ?? null}::uuid IS NULL OR r.run_id = ${filter.runId ?? null}::uuid)
      AND (${filter.runIds ? [...filter.runIds] : null}::uuid[] IS NULL OR r.run_id = ANY(${filter.runIds ? [...filter.runIds] : null}::uuid[]))
    GROUP BY p.name, r.metric
    ORDER BY count(*) DESC, p.name, r.metric
    LIMIT ${filter.limit ?? 1_000}`.execute(db);
  return rows.rows;
}

/** A stored review as the API and the pages show it. */
export const reviewView = (row: CaseReview): ReviewView => ({
  case_index: row.case_index,
  metric: row.metric,
  reviewer: row.reviewer,
  agree: row.agree,
  judge_passed: row.judge_passed,
  corrected_passed: row.corrected_passed,
  comment: row.comment,
  updated_at: new Date(row.updated_at).toISOString(),
});
