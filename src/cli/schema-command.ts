import { parseArgs } from 'node:util';
import { suiteJsonSchema, suiteReferenceMarkdown } from '../suite/reference';
import { EXIT_OK } from './errors';
import type { Io } from './main';

/** `evalctl schema [--markdown]`: the suite format as JSON Schema (for editors) or as the README's table. */
export async function schemaCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { markdown: { type: 'boolean' } } });
  io.stdout.write(values.markdown ? `${suiteReferenceMarkdown()}\n` : `${JSON.stringify(suiteJsonSchema(), null, 2)}\n`);
  return EXIT_OK;
}
