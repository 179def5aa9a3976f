import { basename } from 'node:path';
import type { TopicGroup, TrendPoint } from '../contracts/api';
import type { Report } from '../contracts/report';
import { groupByTopic } from '../runner/topics';
import { caseRowOf, facetsOfCases, queryCases, scoresOfCases } from './case-query';
import { facetsOf, runMatches, type CaseFilter, type CaseRow, type RunDetail, type RunFilter, type ViewerSource } from './model';

/** A report file as a run of the viewer: `report`, then `baseline`. */
export interface ReportFile {
  id: string;
  file: string;
  report: Report;
}

const statusOf = (report: Report): string => (report.budget?.exceeded ? 'budget_exceeded' : report.totals.errored > 0 ? 'completed_with_errors' : 'completed');

function runRow(file: ReportFile): RunDetail {
  const { report } = file;
  const { summary: means, cases: _cases, ...summary } = report;
  return {
    id: file.id,
    suite: report.suites.map((suite) => suite.name).join(', ') || basename(file.file),
    status: statusOf(report),
    branch: report.build?.branch ?? null,
    build: report.build,
    created_at: report.started_at,
    finished_at: report.finished_at,
    duration_ms: report.duration_ms,
    progress: { total: report.totals.cases, completed: report.totals.cases, passed: report.totals.passed, failed: report.totals.failed, errored: report.totals.errored },
    means,
    gate_passed: report.gate.passed,
    cost_usd: report.usage?.total_cost_usd ?? null,
    summary: { ...summary, summary: means },
    max_cost_usd: report.budget?.max_cost_usd ?? null,
  };
}

/**
 * The viewer over report files (`evalctl view report.json [baseline.json]`): everything in memory, read only.
 * A case is addressed by its place in the report (a matrix report holds several suites, whose case indexes repeat).
 */
export class FileViewerSource implements ViewerSource {
  readonly mode = 'files' as const;
  readonly title: string;
  private readonly files: ReadonlyMap<string, ReportFile>;

  constructor(files: readonly ReportFile[]) {
    this.files = new Map(files.map((file) => [file.id, file]));
    this.title = basename(files[0].file);
  }

  async runs(filter: RunFilter) {
    return { runs: [...this.files.values()].map(runRow).filter((row) => runMatches(row, filter)), nextCursor: null };
  }

  async runFacets() {
    return facetsOf([...this.files.values()].map(runRow));
  }

  async run(id: string) {
    const file = this.files.get(id);
    return file ? runRow(file) : undefined;
  }

  async cases(runId: string, filter: CaseFilter): Promise<{ cases: CaseRow[]; total: number }> {
    const picked = queryCases(this.files.get(runId)?.report.cases ?? [], filter);
    return { cases: picked.slice(filter.offset, filter.offset + filter.limit).map(({ result, at }) => caseRowOf(result, at)), total: picked.length };
  }

  async caseOrder(runId: string, filter: CaseFilter): Promise<number[]> {
    return queryCases(this.files.get(runId)?.report.cases ?? [], filter).map(({ at }) => at);
  }

  async caseFacets(run: RunDetail) {
    return facetsOfCases(this.files.get(run.id)?.report.cases ?? []);
  }

  async caseDetail(runId: string, index: number) {
    const result = this.files.get(runId)?.report.cases[index];
    return result ? { index, id: result.id, status: result.status, attempts: null, error: result.error, result } : undefined;
  }

  async llmCalls() {
    return null;
  }

  async report(runId: string) {
    return this.files.get(runId)!.report;
  }

  async topics(run: RunDetail): Promise<TopicGroup[]> {
    const cases = this.files.get(run.id)?.report.cases ?? [];
    return groupByTopic(cases.map((c, at) => ({ case_index: at, passed: c.status === 'passed', topic: c.topic ?? '', tags: c.tags })));
  }

  async scores(run: RunDetail): Promise<Record<string, number[]>> {
    return scoresOfCases(this.files.get(run.id)?.report.cases ?? []);
  }

  async trends(metric: string, filter: { branch?: string; suite?: string }): Promise<TrendPoint[]> {
    return [...this.files.values()]
      .filter((file) => !filter.branch || file.report.build?.branch === filter.branch)
      .filter((file) => !filter.suite || file.report.suites.some((suite) => suite.name === filter.suite))
      .filter((file) => typeof file.report.summary[metric] === 'number')
      .sort((a, b) => a.report.started_at.localeCompare(b.report.started_at))
      .map((file) => ({
        run_id: file.id,
        build: file.report.build?.build_id ?? '',
        commit: file.report.build?.git_sha ?? '',
        run_branch: file.report.build?.branch ?? '',
        started: file.report.started_at,
        mean: file.report.summary[metric] as number,
        scored: file.report.metrics[metric]?.scored ?? 0,
      }));
  }

  async reviews() {
    return [];
  }

  async agreement() {
    return [];
  }
}
