import type { Report } from '../../src/contracts/report';
import { evaluateGateRules, formatGateOutcome } from '../../src/runner/gate';

/** The gate's edges the mutation run found untested: exact drops with floating-point noise, and what the text omits. */

const report = (summary: Record<string, number | null>, cases: Array<{ id: string; score: number; passed?: boolean }> = [], withMetrics = true): Report =>
  ({
    summary,
    ...(withMetrics ? { metrics: {} } : {}),
    cases: cases.map((c) => ({ suite: 's', id: c.id, metrics: { f: { score: c.score, passed: c.passed ?? true, direction: 'higher' } } })),
  }) as unknown as Report;

test('a drop of exactly max-drop, computed with floating-point noise, passes; per case it is neither worse nor better', () => {
  // 0.3 − 0.2 is 0.09999999999999998 in floating point: the gate allows for it.
  const base = report({ f: 0.3 }, [{ id: 'a', score: 0.3 }, { id: 'b', score: 0.2 }]);
  const head = report({ f: 0.2 }, [{ id: 'a', score: 0.2 }, { id: 'b', score: 0.3 }]);
  const outcome = evaluateGateRules(head, { baseline: base, maxDrop: 0.1 });
  expect(outcome.passed).toBe(true);
  expect([outcome.regressions, outcome.improvements]).toEqual([[], []]);
  const tighter = evaluateGateRules(head, { baseline: base, maxDrop: 0.0999 });
  expect(tighter.passed).toBe(false);
  expect(tighter.regressions.map((c) => c.id)).toEqual(['a']);
  expect(tighter.improvements.map((c) => c.id)).toEqual(['b']);
});

test('a report without metric metadata gates higher-is-better', () => {
  expect(evaluateGateRules(report({ f: 0.5 }, [], false), { baseline: report({ f: 0.6 }, [], false) }).passed).toBe(false);
});

test('the text says nothing of added or removed cases when there are none, and names only the failing rules', () => {
  const base = report({ f: 0.9, g: 0.5 }, [{ id: 'a', score: 1 }]);
  const same = formatGateOutcome(evaluateGateRules(report({ f: 0.9, g: 0.5 }, [{ id: 'a', score: 1 }]), { baseline: base }), true);
  expect(same).not.toContain('Cases only in');
  const added = formatGateOutcome(evaluateGateRules(report({ f: 0.9, g: 0.5 }, [{ id: 'a', score: 1 }, { id: 'b', score: 1 }]), { baseline: base }), true);
  expect(added).toContain('Cases only in this report: 1; only in the baseline: 0.');
  const failing = formatGateOutcome(evaluateGateRules(report({ f: 0.1, g: 0.5 }), { min: { f: 0.5, g: 0.5 } }), false);
  expect(failing.split('\n').at(-1)).toBe('Gate FAILED: f >= 0.5.');
  expect(failing).toMatch(/^f +0\.1000 +>= 0\.5 +FAIL$/m);
  expect(failing).toMatch(/^g +0\.5000 +>= 0\.5 +pass$/m);
  const withBase = formatGateOutcome(evaluateGateRules(report({ f: 0.1 }), { baseline: report({ f: 0.1 }), min: { f: 0.5 } }), true);
  expect(withBase).toMatch(/^f +0\.1000 +0\.1000 +\+0\.0000 +>= 0\.5 +FAIL$/m);
  const passingWithBase = formatGateOutcome(evaluateGateRules(report({ f: 0.9 }), { baseline: report({ f: 0.9 }), min: { f: 0.5 } }), true);
  expect(passingWithBase).toMatch(/^f +0\.9000 +0\.9000 +\+0\.0000 +>= 0\.5 +pass$/m);
});
