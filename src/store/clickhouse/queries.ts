import type { ClickHouseClient } from '@clickhouse/client';
import type { CaseOutcome, LlmCallView, TrendPoint } from '../../contracts/api';
import { checkDatabaseName } from './connect';
import { clickhouseTime } from './tables';

/** A run's mean score of one metric per run, oldest run first: the points of a trend line. */
export async function metricTrend(
  client: ClickHouseClient,
  database: string,
  filter: { project: string; metric: string; branch?: string; suite?: string; limit: number },
): Promise<TrendPoint[]> {
  const result = await client.query({
    // Aliases differ from column names: ClickHouse would otherwise read them in WHERE.
    query: `SELECT run_id, any(build_id) AS build, any(git_sha) AS commit, any(branch) AS run_branch,
                   min(run_created_at) AS started, avg(score) AS mean, count() AS scored
            FROM ${checkDatabaseName(database)}.results FINAL
            WHERE project = {project:String} AND metric = {metric:String}
              AND ({branch:String} = '' OR branch = {branch:String}) AND ({suite:String} = '' OR suite = {suite:String}) AND score IS NOT NULL
            GROUP BY run_id ORDER BY started DESC LIMIT {limit:UInt32}`,
    query_params: { project: filter.project, metric: filter.metric, branch: filter.branch ?? '', suite: filter.suite ?? '', limit: filter.limit },
    format: 'JSONEachRow',
  });
  // The newest `limit` runs, returned oldest first. count() is a UInt64, which ClickHouse quotes in JSON.
  const rows = (await result.json()) as Array<Omit<TrendPoint, 'scored'> & { scored: number | string }>;
  return rows.reverse().map((row) => ({ ...row, scored: Number(row.scored) }));
}

export async function runCaseOutcomes(client: ClickHouseClient, database: string, filter: { project: string; runId: string }): Promise<CaseOutcome[]> {
  const result = await client.query({
    query: `SELECT case_index, min(passed) AS case_passed, any(topic) AS topic, any(tags) AS tags
            FROM ${checkDatabaseName(database)}.results FINAL
            WHERE project = {project:String} AND run_id = {run:String}
            GROUP BY case_index`,
    query_params: { project: filter.project, run: filter.runId },
    format: 'JSONEachRow',
  });
  const rows = (await result.json()) as Array<{ case_index: number; case_passed: number | string; topic: string; tags: string[] }>;
  return rows.map((row) => ({ case_index: Number(row.case_index), passed: Boolean(Number(row.case_passed)), topic: row.topic, tags: row.tags }));
}

/**
 * The LLM calls one case made (target and judges), in the order they were made; at most 500. A call is never
 * older than its run, so the run's creation time (`since`) prunes the table's monthly partitions.
 */
export async function caseLlmCalls(
  client: ClickHouseClient,
  database: string,
  filter: { project: string; runId: string; caseIndex: number; since: Date },
): Promise<LlmCallView[]> {
  const result = await client.query({
    query: `SELECT kind, provider, model, status, error_status, cached, attempts, rate_limited, input_tokens, output_tokens, cost_usd, latency_ms, created_at,
                   metric, step, request, response
            FROM ${checkDatabaseName(database)}.llm_calls
            WHERE project = {project:String} AND created_at >= {since:DateTime64(3)} AND run_id = {run:String} AND case_index = {case:UInt32}
            ORDER BY created_at LIMIT 500`,
    query_params: { project: filter.project, since: clickhouseTime(filter.since), run: filter.runId, case: filter.caseIndex },
    format: 'JSONEachRow',
  });
  const rows = (await result.json()) as LlmCallView[];
  // UInt64 and Decimal columns arrive quoted in JSON.
  return rows.map((row) => ({
    ...row,
    error_status: Number(row.error_status),
    cached: Number(row.cached) ? 1 : 0,
    attempts: Number(row.attempts),
    rate_limited: Number(row.rate_limited),
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
    cost_usd: row.cost_usd === null ? null : Number(row.cost_usd),
    latency_ms: Number(row.latency_ms),
  }));
}
