import { basename } from 'node:path';
import type { TopicGroup, TrendPoint } from '../contracts/api';
import type { CaseResult, Report } from '../contracts/report';
import { groupByTopic } from '../runner/topics';
import { facetsOf, runMatches, type CaseFilter, type CaseRow, type RunDetail, type RunFilter, type ViewerSource } from './model';

/** A report file as a run of the viewer: `report`, then `baseline`. */
export interface ReportFile {
  id: string;
  file: string;
  report: Report;
}

const RANK: Record<string, number> = { errored: 0, failed: 1, passed: 3 };

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
    const cases = this.files.get(runId)?.report.cases ?? [];
    const picked = cases
      .map((result, at) => ({ result, at }))
      .filter(({ result }) => {
        if (filter.status === 'unfinished') return false;
        if (filter.status && result.status !== filter.status) return false;
        if (filter.metric && result.metrics[filter.metric]?.passed !== false) return false;
        if (filter.topic && result.topic !== filter.topic) return false;
        return !filter.tag || result.tags.includes(filter.tag);
      })
      .sort((a, b) => (RANK[a.result.status] ?? 2) - (RANK[b.result.status] ?? 2) || a.at - b.at);
    return { cases: picked.slice(filter.offset, filter.offset + filter.limit).map(({ result, at }) => caseRow(result, at)), total: picked.length };
  }

  async caseFacets(runId: string) {
    const cases = this.files.get(runId)?.report.cases ?? [];
    const count = (values: string[]) => {
      const counts = new Map<string, number>();
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 200).map(([value]) => value);
    };
    return { topics: count(cases.flatMap((c) => (c.topic ? [c.topic] : []))), tags: count(cases.flatMap((c) => c.tags)) };
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

  async trends(metric: string, branch?: string): Promise<TrendPoint[]> {
    return [...this.files.values()]
      .filter((file) => !branch || file.report.build?.branch === branch)
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

function caseRow(result: CaseResult, at: number): CaseRow {
  return {
    index: at,
    id: result.id,
    status: result.status,
    error: result.error,
    topic: result.topic,
    tags: result.tags,
    metrics: Object.fromEntries(Object.entries(result.metrics).map(([id, m]) => [id, { score: m.score, passed: m.passed, error: m.error }])),
  };
}
