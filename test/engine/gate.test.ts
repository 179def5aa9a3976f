import type { Report } from '../../src/contracts/report';
import { evaluateGateRules, formatGateOutcome, show, signed } from '../../src/runner/gate';

/**
 * `evalctl gate`: the verdict that fails a pull request. Each rule at its boundary (a score exactly at the
 * threshold passes; the smallest step past it fails), in each metric's direction, and the per-case changes a
 * reviewer reads. (report-output.test.ts and the CLI tests run it on real reports.)
 */

type Case = { id: string; suite?: string; metrics: Record<string, { score: number | null; passed: boolean; direction?: 'higher' | 'lower'; error?: string }> };

function report(summary: Record<string, number | null>, cases: Case[] = [], directions: Record<string, 'higher' | 'lower'> = {}): Report {
  return {
    summary,
    metrics: Object.fromEntries(Object.entries(directions).map(([metric, direction]) => [metric, { direction }])),
    cases: cases.map((c) => ({ suite: c.suite ?? 'answers', id: c.id, metrics: Object.fromEntries(Object.entries(c.metrics).map(([m, r]) => [m, { direction: 'higher', ...r }])) })),
  } as unknown as Report;
}

describe('--min and --max', () => {
  test('a mean exactly at the bound passes; one step past it fails; each row says what it checked', () => {
    const head = report({ faithfulness: 0.8, latency: 2, toxicity: 0.1 });
    const outcome = evaluateGateRules(head, { min: { faithfulness: 0.8 }, max: { latency: 2, toxicity: 0.0999 } });
    expect(outcome.rows).toEqual([
      { metric: 'faithfulness', value: 0.8, baseline: null, delta: null, rule: '>= 0.8', passed: true },
      { metric: 'latency', value: 2, baseline: null, delta: null, rule: '<= 2', passed: true },
      { metric: 'toxicity', value: 0.1, baseline: null, delta: null, rule: '<= 0.0999', passed: false },
    ]);
    expect(outcome.passed).toBe(false);
    expect(evaluateGateRules(head, { min: { faithfulness: 0.8001 } }).passed).toBe(false);
    expect(evaluateGateRules(head, { min: { faithfulness: 0.8 }, max: { latency: 2 } }).passed).toBe(true);
  });

  test('a metric the report does not have fails, and says so; one that scored nothing fails', () => {
    const outcome = evaluateGateRules(report({ faithfulness: null }), { min: { relevancy: 0, faithfulness: 0 } });
    expect(outcome.rows).toEqual([
      expect.objectContaining({ metric: 'relevancy', value: null, rule: '>= 0 (not in report)', passed: false }),
      expect.objectContaining({ metric: 'faithfulness', value: null, rule: '>= 0', passed: false }),
    ]);
    expect(outcome.passed).toBe(false);
  });

  test('no rule at all passes, and says a rule is needed', () => {
    const outcome = evaluateGateRules(report({ faithfulness: 0.1 }), {});
    expect(outcome).toEqual({ passed: true, rows: [], regressions: [], improvements: [], addedCases: 0, removedCases: 0 });
    expect(formatGateOutcome(outcome, false)).toBe('No rule given: pass --min, --max or --baseline.\n\nGate passed.');
  });
});

describe('--baseline and --max-drop', () => {
  const base = report({ faithfulness: 0.9, latency: 1.0, gone: 0.5, unscored: null }, [], { latency: 'lower' });

  test('a drop exactly at max-drop passes; past it fails; in the metric’s own direction', () => {
    const at = evaluateGateRules(report({ faithfulness: 0.88, latency: 1.02 }, [], { latency: 'lower' }), { baseline: base, maxDrop: 0.02 });
    expect(at.rows.map((r) => [r.metric, r.rule, r.passed])).toEqual([
      ['faithfulness', 'drop <= 0.02 vs baseline', true],
      ['latency', 'drop <= 0.02 vs baseline', true],
    ]);
    expect(at.rows[0]).toMatchObject({ value: 0.88, baseline: 0.9, delta: expect.closeTo(-0.02, 12) });
    const past = evaluateGateRules(report({ faithfulness: 0.8799, latency: 1.0201 }, [], { latency: 'lower' }), { baseline: base, maxDrop: 0.02 });
    expect(past.rows.map((r) => r.passed)).toEqual([false, false]);
    // Lower is better for latency: a lower value is an improvement, however large.
    expect(evaluateGateRules(report({ faithfulness: 0.95, latency: 0.2 }, [], { latency: 'lower' }), { baseline: base }).passed).toBe(true);
    // Without its direction, latency would count as higher-is-better: 0.2 would be a drop.
    expect(evaluateGateRules(report({ faithfulness: 0.95, latency: 0.2 }), { baseline: base }).passed).toBe(false);
  });

  test('max-drop defaults to 0: any drop fails, an equal score passes', () => {
    expect(evaluateGateRules(report({ faithfulness: 0.9 }), { baseline: base }).passed).toBe(true);
    expect(evaluateGateRules(report({ faithfulness: 0.8999 }), { baseline: base }).passed).toBe(false);
  });

  test('only metrics in both reports are compared; a baseline that scored nothing is no bar', () => {
    const outcome = evaluateGateRules(report({ faithfulness: 0.9, fresh: 0.1, unscored: 0 }), { baseline: base });
    expect(outcome.rows.map((r) => r.metric)).toEqual(['faithfulness', 'unscored']);
    expect(outcome.rows[1]).toMatchObject({ baseline: null, delta: null, passed: true });
  });

  test('per case: passed→failed and now-errors are regressions, failed→passed improvements, score moves past max-drop either way', () => {
    const baseCases: Case[] = [
      { id: 'a', metrics: { f: { score: 1, passed: true } } },
      { id: 'b', metrics: { f: { score: 1, passed: true } } },
      { id: 'c', metrics: { f: { score: 0.2, passed: false } } },
      { id: 'd', metrics: { f: { score: 0.7, passed: true } } },
      { id: 'e', metrics: { f: { score: 0.7, passed: true } } },
      { id: 'f', metrics: { f: { score: 0.7, passed: true } } },
      { id: 'g', metrics: { f: { score: 0.7, passed: true }, only_base: { score: 1, passed: true } } },
      { id: 'gone', metrics: { f: { score: 1, passed: true } } },
      { id: 'a', suite: 'other', metrics: { f: { score: 1, passed: true } } },
    ];
    const headCases: Case[] = [
      { id: 'a', metrics: { f: { score: 0, passed: false } } },
      { id: 'b', metrics: { f: { score: null, passed: false, error: 'judge timed out' } } },
      { id: 'c', metrics: { f: { score: 0.9, passed: true } } },
      { id: 'd', metrics: { f: { score: 0.6, passed: true } } },
      { id: 'e', metrics: { f: { score: 0.8, passed: true } } },
      { id: 'f', metrics: { f: { score: 0.69, passed: true } } },
      { id: 'g', metrics: { f: { score: 0.7, passed: true }, only_head: { score: 0, passed: false } } },
      { id: 'new', metrics: { f: { score: 0, passed: false } } },
      { id: 'a', suite: 'other', metrics: { f: { score: 1, passed: true } } },
    ];
    const outcome = evaluateGateRules(report({ f: 0.5 }, headCases), { baseline: report({ f: 0.5 }, baseCases), maxDrop: 0.05 });
    expect(outcome.regressions).toEqual([
      { suite: 'answers', id: 'a', metric: 'f', baseline: 1, value: 0, note: 'passed → failed' },
      { suite: 'answers', id: 'b', metric: 'f', baseline: 1, value: null, note: 'now errors: judge timed out' },
      { suite: 'answers', id: 'd', metric: 'f', baseline: 0.7, value: 0.6, note: 'score worse' },
    ]);
    expect(outcome.improvements).toEqual([
      { suite: 'answers', id: 'c', metric: 'f', baseline: 0.2, value: 0.9, note: 'failed → passed' },
      { suite: 'answers', id: 'e', metric: 'f', baseline: 0.7, value: 0.8, note: 'score better' },
    ]);
    expect([outcome.addedCases, outcome.removedCases]).toEqual([1, 1]);
    // The same case id in another suite is another case.
    expect(outcome.regressions.concat(outcome.improvements).filter((c) => c.suite === 'other')).toEqual([]);
  });

  test('a lower-is-better metric’s case scores move the other way', () => {
    const outcome = evaluateGateRules(
      report({}, [{ id: 'x', metrics: { latency: { score: 2, passed: true, direction: 'lower' } } }, { id: 'y', metrics: { latency: { score: 1, passed: true, direction: 'lower' } } }]),
      { baseline: report({}, [{ id: 'x', metrics: { latency: { score: 1, passed: true, direction: 'lower' } } }, { id: 'y', metrics: { latency: { score: 2, passed: true, direction: 'lower' } } }]) },
    );
    expect(outcome.regressions.map((c) => [c.id, c.note])).toEqual([['x', 'score worse']]);
    expect(outcome.improvements.map((c) => [c.id, c.note])).toEqual([['y', 'score better']]);
  });
});

describe('what the reviewer reads', () => {
  test('scores with four decimals and a sign; none as —', () => {
    expect([show(0.5), show(null), show(undefined), show(1 / 3)]).toEqual(['0.5000', '—', '—', '0.3333']);
    expect([signed(0.25), signed(0), signed(-0.125), signed(null)]).toEqual(['+0.2500', '+0.0000', '-0.1250', '—']);
  });

  test('the table against a baseline, each list of case changes, and the failing rules named', () => {
    const base = report({ f: 0.9 }, [{ id: 'a', metrics: { f: { score: 1, passed: true } } }, { id: 'old', metrics: { f: { score: 1, passed: true } } }]);
    const head = report({ f: 0.8 }, [{ id: 'a', metrics: { f: { score: 0, passed: false } } }, { id: 'new', metrics: { f: { score: 1, passed: true } } }]);
    const text = formatGateOutcome(evaluateGateRules(head, { baseline: base, maxDrop: 0.05, min: { f: 0.85 } }), true);
    expect(text.split('\n')).toEqual([
      'metric  baseline  value   delta    rule                      result',
      '------  --------  ------  -------  ------------------------  ------',
      'f       0.9000    0.8000  -0.1000  >= 0.85                   FAIL',
      'f       0.9000    0.8000  -0.1000  drop <= 0.05 vs baseline  FAIL',
      '',
      'Cases that got worse (1):',
      'suite    case  metric  baseline  value   change',
      '-------  ----  ------  --------  ------  ---------------',
      'answers  a     f       1.0000    0.0000  passed → failed',
      '',
      'Cases that got better: none',
      '',
      'Cases only in this report: 1; only in the baseline: 1.',
      '',
      'Gate FAILED: f >= 0.85; f drop <= 0.05 vs baseline.',
    ]);
  });

  test('without a baseline: no baseline or delta columns, no case lists', () => {
    const text = formatGateOutcome(evaluateGateRules(report({ f: 0.9 }), { min: { f: 0.5 } }), false);
    expect(text).toBe(['metric  value   rule    result', '------  ------  ------  ------', 'f       0.9000  >= 0.5  pass', '', 'Gate passed.'].join('\n'));
  });
});
