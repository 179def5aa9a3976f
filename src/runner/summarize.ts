import type { BuildMetadata } from '../contracts/build';
import { addUsage } from '../providers/llm-gateway';
import { addUsd, PRICE_TABLE_VERSION } from '../providers/pricing';
import type { LoadedSuite } from '../suite/load';
import { REPORT_SCHEMA_VERSION, type CaseResult, type MetricSummary, type ModelUsage, type Report, type TargetReport } from '../contracts/report';
import { ENGINE_VERSION } from '../version';
import { clipText } from '../contracts/text';
import { ExactSum } from './exact-sum';

/** A report without its cases: what is known once every case has been counted, whatever their number. */
export type ReportHead = Omit<Report, 'cases'>;

const rate = (part: number, whole: number): number => (whole === 0 ? 1 : part / whole);

/** A metric's statistics so far. */
interface MetricTally {
  readonly summary: MetricSummary;
  readonly sum: ExactSum;
}

/**
 * The cases of a suite name so far, those that errored, and those each metric passed; `metrics` are those of the
 * last suite loaded under the name (two files may name the same suite: each is gated on all its cases).
 */
interface SuiteTally {
  metrics: LoadedSuite['metrics'];
  cases: number;
  errored: number;
  readonly passedBy: Map<string, number>;
}

/**
 * The figures of a report over a set of suites (the whole run, or one matrix target), counted a case at a
 * time in any order: counts, an exactly rounded sum per metric (so the mean does not depend on which case
 * finished first), minimum and maximum, usage per model in the order the cases' positions give, costs.
 * Its size is the number of suites, metrics and models, never the number of cases.
 */
class Tally {
  readonly totals = { cases: 0, passed: 0, failed: 0, errored: 0 };
  private readonly metrics = new Map<string, MetricTally>();
  private readonly suites = new Map<string, SuiteTally>();
  private readonly loaded: readonly LoadedSuite[];
  /** Per `provider/model`: the usage summed, and where it was first seen (case position, place in its list). */
  private readonly usage = new Map<string, ModelUsage>();
  private readonly firstSeen = new Map<string, { position: number; place: number }>();
  targetCost: number | null = 0;
  judgeCost: number | null = 0;

  constructor(suites: readonly LoadedSuite[], thresholds: Readonly<Record<string, number>>) {
    this.loaded = suites;
    for (const loaded of suites) {
      const tally = this.suites.get(loaded.suite.name);
      if (tally) tally.metrics = loaded.metrics;
      else this.suites.set(loaded.suite.name, { metrics: loaded.metrics, cases: 0, errored: 0, passedBy: new Map() });
      for (const metric of loaded.metrics) {
        if (this.metrics.has(metric.id)) continue;
        const d = metric.definition;
        this.metrics.set(metric.id, {
          sum: new ExactSum(),
          summary: {
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
          },
        });
      }
    }
  }

  /** Counts a case; `position` is its place in the run (the report's order), which orders the models. */
  add(result: CaseResult, position: number): void {
    this.totals.cases++;
    this.totals[result.status]++;
    const suite = this.suites.get(result.suite);
    if (suite) {
      suite.cases++;
      if (result.status === 'errored') suite.errored++;
      for (const [id, scored] of Object.entries(result.metrics)) if (scored.passed) suite.passedBy.set(id, (suite.passedBy.get(id) ?? 0) + 1);
      // A case whose target failed counts as errored for every metric.
      for (const metric of suite.metrics) {
        const scored = result.metrics[metric.id];
        const tally = this.metrics.get(metric.id)!;
        const summary = tally.summary;
        if (!scored || scored.score === null) {
          summary.errored++;
          continue;
        }
        summary.scored++;
        tally.sum.add(scored.score);
        summary.min = summary.min === null ? scored.score : Math.min(summary.min, scored.score);
        summary.max = summary.max === null ? scored.score : Math.max(summary.max, scored.score);
        if (scored.passed) summary.passed++;
        else summary.failed++;
      }
    }
    result.usage.forEach((usage, place) => {
      const key = `${usage.provider}/${usage.model}`;
      const seen = this.firstSeen.get(key);
      if (!seen || position < seen.position || (position === seen.position && place < seen.place)) this.firstSeen.set(key, { position, place });
      addUsage(this.usage, usage);
    });
    this.targetCost = addUsd(this.targetCost, result.target ? result.target.cost_usd : 0);
    for (const metric of Object.values(result.metrics)) this.judgeCost = addUsd(this.judgeCost, metric.judge_cost_usd);
  }

  metricSummaries(): Record<string, MetricSummary> {
    const metrics: Record<string, MetricSummary> = {};
    for (const [id, { summary, sum }] of this.metrics) {
      // Rounded to 1e-9 so that three cases at 0.7 average to 0.7, not 0.6999999999999998.
      const mean = summary.scored === 0 ? null : Math.round((sum.value() / summary.scored) * 1e9) / 1e9;
      metrics[id] = { ...summary, range: [summary.range[0], summary.range[1]], mean, pass_rate: rate(summary.passed, summary.passed + summary.failed + summary.errored) };
    }
    return metrics;
  }

  totalsOf(): Report['totals'] {
    return { ...this.totals, pass_rate: rate(this.totals.passed, this.totals.cases) };
  }

  /** Per model, in the order the report's cases first name them. */
  byModel(): ModelUsage[] {
    const order = (key: string) => this.firstSeen.get(key)!;
    return [...this.usage]
      .sort(([a], [b]) => order(a).position - order(b).position || order(a).place - order(b).place)
      .map(([, usage]) => ({ ...usage }));
  }

  /** The sum of the models' costs; null when any is unknown. */
  cost(): number | null {
    return [...this.usage.values()].reduce<number | null>((total, m) => addUsd(total, m.cost_usd), 0);
  }

  /** The gate of each suite: every metric's pass rate against min_pass_rate, errored cases against max_errored. */
  gate(): Report['gate'] {
    const failures: string[] = [];
    for (const loaded of this.loaded) {
      const { cases, errored, passedBy } = this.suites.get(loaded.suite.name)!;
      const { min_pass_rate: minPassRate, max_errored: maxErrored } = loaded.suite.gate;
      for (const metric of loaded.metrics) {
        const passed = passedBy.get(metric.id) ?? 0;
        if (rate(passed, cases) < minPassRate) {
          failures.push(`${loaded.suite.name}: ${metric.id} passed ${passed} of ${cases} cases (${(100 * rate(passed, cases)).toFixed(1)}%), needs ${(100 * minPassRate).toFixed(1)}%`);
        }
      }
      if (errored > maxErrored) failures.push(`${loaded.suite.name}: ${errored} case(s) errored, ${maxErrored} allowed`);
    }
    return {
      passed: failures.length === 0,
      rules: this.loaded.map((loaded) => ({ suite: loaded.suite.name, min_pass_rate: loaded.suite.gate.min_pass_rate, max_errored: loaded.suite.gate.max_errored })),
      failures,
    };
  }
}

/**
 * A report's figures counted as cases finish, in any order, in memory that does not grow with their number:
 * the run's own and, for a matrix, each target's. `head` gives the report without its cases, the same
 * figures `buildReport` gives for the same cases.
 */
export class ReportAccumulator {
  private readonly all: Tally;
  private readonly targets = new Map<string, { suites: string[]; tally: Tally }>();
  private readonly targetOf = new Map<string, string>();

  constructor(
    private readonly suites: readonly LoadedSuite[],
    thresholds: Readonly<Record<string, number>>,
  ) {
    this.all = new Tally(suites, thresholds);
    const ids = [...new Set(suites.flatMap((s) => (s.matrix ? [s.matrix.target] : [])))];
    for (const id of ids) {
      const mine = suites.filter((s) => s.matrix?.target === id);
      this.targets.set(id, { suites: [...new Set(mine.map((s) => s.suite.name))], tally: new Tally(mine, thresholds) });
      for (const s of mine) this.targetOf.set(s.suite.name, id);
    }
  }

  /** Counts a finished case; `position` is its place in the report (suite by suite, case by case). */
  add(result: CaseResult, position: number): void {
    this.all.add(result, position);
    const target = this.targetOf.get(result.suite);
    if (target !== undefined) this.targets.get(target)!.tally.add(result, position);
  }

  /** The report without its cases, over every case counted so far. */
  head(input: { build: BuildMetadata; startedAt: Date; finishedAt: Date }): ReportHead {
    const metrics = this.all.metricSummaries();
    const byModel = this.all.byModel();
    const targets =
      this.targets.size === 0
        ? undefined
        : Object.fromEntries(
            [...this.targets].map(([id, { suites, tally }]): [string, TargetReport] => {
              const own = tally.metricSummaries();
              const gate = tally.gate();
              return [
                id,
                {
                  suites,
                  summary: Object.fromEntries(Object.entries(own).map(([metric, m]) => [metric, m.mean])),
                  metrics: own,
                  totals: tally.totalsOf(),
                  gate: { passed: gate.passed, failures: gate.failures },
                  cost_usd: tally.cost(),
                },
              ];
            }),
          );
    return {
      schema_version: REPORT_SCHEMA_VERSION,
      tool: { name: 'evalctl', version: ENGINE_VERSION },
      started_at: input.startedAt.toISOString(),
      finished_at: input.finishedAt.toISOString(),
      duration_ms: input.finishedAt.getTime() - input.startedAt.getTime(),
      build: input.build,
      project: this.suites.find((s) => s.suite.project)?.suite.project ?? null,
      suites: this.suites.map((s) => ({
        name: s.suite.name,
        file: s.file,
        cases: s.suite.cases.length,
        target: s.suite.target.type === 'none' ? 'none' : s.suite.target.type === 'http' ? `http ${new URL(s.suite.target.url).host}` : `${s.suite.target.type}/${s.suite.target.model}`,
        judge: s.suite.judge ? `${s.suite.judge.provider}/${s.suite.judge.model}` : null,
        ...('system_prompt' in s.suite.target && s.suite.target.system_prompt ? { system_prompt: clipText(s.suite.target.system_prompt, 4_000) } : {}),
      })),
      summary: Object.fromEntries(Object.entries(metrics).map(([id, m]) => [id, m.mean])),
      metrics,
      totals: this.all.totalsOf(),
      usage: {
        price_table_version: PRICE_TABLE_VERSION,
        by_model: byModel,
        total_cost_usd: this.all.cost(),
        target_cost_usd: this.all.targetCost,
        judge_cost_usd: this.all.judgeCost,
      },
      gate: this.all.gate(),
      ...(targets ? { targets } : {}),
    };
  }
}

/** The report over cases held in memory, in their order: the same figures as counting them one by one. */
export function buildReport(input: {
  suites: readonly LoadedSuite[];
  cases: CaseResult[];
  build: BuildMetadata;
  thresholds: Readonly<Record<string, number>>;
  startedAt: Date;
  finishedAt: Date;
}): Report {
  const accumulator = new ReportAccumulator(input.suites, input.thresholds);
  input.cases.forEach((result, position) => accumulator.add(result, position));
  return { ...accumulator.head(input), cases: input.cases };
}

