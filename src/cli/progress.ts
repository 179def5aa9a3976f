import type { Progress } from '../runner/run-suites';

/**
 * A progress bar redrawn in place on a terminal; plain lines (every 10% or 15 s) in CI logs and pipes.
 * Written to stderr so stdout stays the report's summary.
 */
export function progressReporter(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): { update(p: Progress): void; finish(): void } {
  const interactive = Boolean(stream.isTTY) && !env.CI;
  let lastDraw = 0;
  let lastDecile = -1;
  let lastLine = 0;
  let drawn = false;
  const text = (p: Progress) =>
    `${p.done}/${p.total} cases  passed ${p.passed}  failed ${p.failed}  errored ${p.errored}  ${(p.elapsedMs / 1000).toFixed(1)}s`;
  return {
    update(p) {
      const now = Date.now();
      if (interactive) {
        if (now - lastDraw < 100 && p.done < p.total) return;
        lastDraw = now;
        const width = 30;
        const filled = Math.round((width * p.done) / p.total);
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text(p)}\u001b[K`);
        drawn = true;
        return;
      }
      const decile = Math.floor((10 * p.done) / p.total);
      if (decile !== lastDecile || now - lastLine >= 15_000 || p.done === p.total) {
        lastDecile = decile;
        lastLine = now;
        stream.write(`progress: ${text(p)}\n`);
      }
    },
    finish() {
      if (drawn) stream.write('\n');
    },
  };
}
