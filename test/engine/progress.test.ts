import { PassThrough } from 'node:stream';
import { progressReporter } from '../../src/cli/progress';

function capture(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const step = (done: number, total = 20) => ({ done, total, passed: done, failed: 0, errored: 0, elapsedMs: done * 10 });

test('a terminal gets one bar redrawn in place', () => {
  const out = capture(true);
  const reporter = progressReporter(out.stream, {});
  for (let i = 1; i <= 20; i++) reporter.update(step(i));
  reporter.finish();
  expect(out.text()).toMatch(/^\r\[#{2}-{28}\] 1\/20 cases/);
  expect(out.text()).toContain('\r[##############################] 20/20 cases  passed 20');
  expect(out.text().split('\n')).toHaveLength(2);
});

test('CI logs get plain lines, about one per tenth', () => {
  const out = capture(true);
  const reporter = progressReporter(out.stream, { CI: 'true' });
  for (let i = 1; i <= 20; i++) reporter.update(step(i));
  reporter.finish();
  const lines = out.text().trim().split('\n');
  expect(lines.every((line) => line.startsWith('progress: '))).toBe(true);
  expect(lines.length).toBeGreaterThanOrEqual(10);
  expect(lines.length).toBeLessThanOrEqual(11);
  expect(lines.at(-1)).toBe('progress: 20/20 cases  passed 20  failed 0  errored 0  0.2s');
});
