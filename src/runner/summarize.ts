import type { BuildMetadata } from '../contracts/build';
import { mergeUsage } from '../providers/llm-gateway';
import { addUsd, PRICE_TABLE_VERSION } from '../providers/pricing';
import type { LoadedSuite } from '../suite/load';
import { REPORT_SCHEMA_VERSION, type CaseResult, type MetricSummary, type Report, type TargetReport } from '../contracts/report';
import { ENGINE_VERSION } from '../version';
import { clipText } from '../contracts/text';

/** The sum, or null when any value is unknown (a price missing from the table). */
const sumKnown = (values: Array<number | null>): number | null => values.reduce<number | null>(addUsd, 0);

const rate = (part: number, whole: number): number => (whole === 0 ? 1 : part / whole);

/** Cases by status, and the share that passed. */
function totalsOf(cases: readonly CaseResult[]): Report['totals'] {
  const count = (status: CaseResult['status']) => cases.filter((c) => c.status === status).length;
  const passed = count('passed');
  return { cases: cases.length, passed, failed: count('failed'), errored: count('errored'), pass_rate: rate(passed, cases.length) };
}

/** Per-metric statistics over cases; a case whose target failed counts as errored for every metric. */
function summarizeMetrics(suites: readonly LoadedSuite[], cases: readonly CaseResult[], thresholds: Readonly<Record<string, number>>) {
  const metrics: Record<string, MetricSummary> = {};
  for (const loaded of suites) {
    for (const metric of loaded.metrics) {
      if (metrics[metric.id]) continue;
      const d = metric.definition;
      metrics[metric.id] = {
        name: d.name,
        direction: d.direction,
        range: [d.range[0], d.range[1]],
        threshold: thresholds[metric.id] ?? metric.threshold,
        needs_llm: d.needsLlm,
        mean: null,
        min: null,
        max: null,
        scored: 0,
        passed: 0,
        failed: 0,
        errored: 0,
        pass_rate: 0,
      };
    }
  }
  const sums: Record<string, number> = {};
  const byId = new Map(suites.map((s) => [s.suite.name, s]));
  for (const result of cases) {
    for (const metric of byId.get(result.suite)?.metrics ?? []) {
      const summary = metrics[metric.id];
      const scored = result.metrics[metric.id];
      if (!scored || scored.score === null) {
        summary.errored++;
        continue;
      }
      summary.scored++;
      sums[metric.id] = (sums[metric.id] ?? 0) + scored.score;
      summary.min = summary.min === null ? scored.score : Math.min(summary.min, scored.score);
      summary.max = summary.max === null ? scored.score : Math.max(summary.max, scored.score);
      if (scored.passed) summary.passed++;
      else summary.failed++;
    }
  }
  for (const [id, summary] of Object.entries(metrics)) {
    // Rounded to 1e-9 so that three cases at 0.7 average to 0.7, not 0.6999999999999998.
    summary.mean = summary.scored === 0 ? null : Math.round((sums[id] / summary.scored) * 1e9) / 1e9;
    summary.pass_rate = rate(summary.passed, summary.passed + summary.failed + summary.errored);
  }
  return metrics;
}

/** The gate of each suite: every metric's pass rate against min_pass_rate, errored cases against max_errored. */
function evaluateGate(suites: readonly LoadedSuite[], cases: readonly CaseResult[]): Report['gate'] {
  const failures: string[] = [];
  for (const loaded of suites) {
    const { min_pass_rate: minPassRate, max_errored: maxErrored } = loaded.suite.gate;
    const mine = cases.filter((c) => c.suite === loaded.suite.name);
    for (const metric of loaded.metrics) {
      const passed = mine.filter((c) => c.metrics[metric.id]?.passed).length;
      if (rate(passed, mine.length) < minPassRate) {
        failures.push(
          `${loaded.suite.name}: ${metric.id} passed ${passed} of ${mine.length} cases (${(100 * rate(passed, mine.length)).toFixed(1)}%), needs ${(100 * minPassRate).toFixed(1)}%`,
        );
      }
    }
    const errored = mine.filter((c) => c.status === 'errored').length;
    if (errored > maxErrored) failures.push(`${loaded.suite.name}: ${errored} case(s) errored, ${maxErrored} allowed`);
  }
  return {
    passed: failures.length === 0,
    rules: suites.map((s) => ({ suite: s.suite.name, min_pass_rate: s.suite.gate.min_pass_rate, max_errored: s.suite.gate.max_errored })),
    failures,
  };
}

/** Per target of the matrix suites, the report's figures over that target's cases; absent without a matrix. */
function summarizeTargets(suites: readonly LoadedSuite[], cases: readonly CaseResult[], thresholds: Readonly<Record<string, number>>): Record<string, TargetReport> | undefined {
  const ids = [...new Set(suites.flatMap((s) => (s.matrix ? [s.matrix.target] : [])))];
  if (ids.length === 0) return undefined;
  return Object.fromEntries(
    ids.map((id) => {
      const mine = suites.filter((s) => s.matrix?.target === id);
      const names = new Set(mine.map((s) => s.suite.name));
      const own = cases.filter((c) => names.has(c.suite));
      const metrics = summarizeMetrics(mine, own, thresholds);
      const gate = evaluateGate(mine, own);
      return [
        id,
        {
          suites: [...names],
          summary: Object.fromEntries(Object.entries(metrics).map(([metric, m]) => [metric, m.mean])),
          metrics,
          totals: totalsOf(own),
          gate: { passed: gate.passed, failures: gate.failures },
          cost_usd: sumKnown(mergeUsage(own.map((c) => c.usage)).map((m) => m.cost_usd)),
        },
      ];
    }),
  );
}

export function buildReport(input: {
  suites: readonly LoadedSuite[];
  cases: CaseResult[];
  build: BuildMetadata;
  thresholds: Readonly<Record<string, number>>;
  startedAt: Date;
  finishedAt: Date;
}): Report {
  const { suites, cases } = input;
  const metrics = summarizeMetrics(suites, cases, input.thresholds);
  const byModel = mergeUsage(cases.map((c) => c.usage));
  const targetCost = sumKnown(cases.map((c) => (c.target ? c.target.cost_usd : 0)));
  const judgeCost = sumKnown(cases.flatMap((c) => Object.values(c.metrics).map((m) => m.judge_cost_usd)));
  const targets = summarizeTargets(suites, cases, input.thresholds);
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    tool: { name: 'evalctl', version: ENGINE_VERSION },
    started_at: input.startedAt.toISOString(),
    finished_at: input.finishedAt.toISOString(),
    duration_ms: input.finishedAt.getTime() - input.startedAt.getTime(),
    build: input.build,
    project: suites.find((s) => s.suite.project)?.suite.project ?? null,
    suites: suites.map((s) => ({
      name: s.suite.name,
      file: s.file,
      cases: s.suite.cases.length,
      target: s.suite.target.type === 'none' ? 'none' : s.suite.target.type === 'http' ? `http ${new URL(s.suite.target.url).host}` : `${s.suite.target.type}/${s.suite.target.model}`,
      judge: s.suite.judge ? `${s.suite.judge.provider}/${s.suite.judge.model}` : null,
      ...('system_prompt' in s.suite.target && s.suite.target.system_prompt ? { system_prompt: clipText(s.suite.target.system_prompt, 4_000) } : {}),
    })),
    summary: Object.fromEntries(Object.entries(metrics).map(([id, m]) => [id, m.mean])),
    metrics,
    totals: totalsOf(cases),
    usage: {
      price_table_version: PRICE_TABLE_VERSION,
      by_model: byModel,
      total_cost_usd: sumKnown(byModel.map((m) => m.cost_usd)),
      target_cost_usd: targetCost,
      judge_cost_usd: judgeCost,
    },
    gate: evaluateGate(suites, cases),
    ...(targets ? { targets } : {}),
    cases,
  };
}
