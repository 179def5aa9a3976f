import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');

/** A README, relative to the repository root. */
export function readme(file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

/**
 * The code block a README marks with `<!-- example: <name> -->` on the line before it: the tests run what a
 * reader copies, so the README cannot drift from what works.
 */
export function readmeExample(file: string, name: string): string {
  const text = readme(file);
  const marker = `<!-- example: ${name} -->\n`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`${file}: no example "${name}"`);
  const block = /^```[a-z]*\n([\s\S]*?)\n```/.exec(text.slice(at + marker.length));
  if (!block) throw new Error(`${file}: the example "${name}" is not followed by a code block`);
  return `${block[1]}\n`;
}
