import { parseArgs } from 'node:util';
import { metricReferenceMarkdown, metricReferenceText } from '../metrics/reference';
import { EXIT_OK } from './errors';
import type { Io } from './main';

/** `evalctl metrics [--markdown]`: the metric reference, generated from the registry. */
export async function metricsCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { markdown: { type: 'boolean' } } });
  io.stdout.write(values.markdown ? `${metricReferenceMarkdown()}\n` : metricReferenceText());
  return EXIT_OK;
}
