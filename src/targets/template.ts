import type { TestCase } from '../contracts/case';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g;

function lookup(testCase: TestCase, path: string): unknown {
  let node: unknown = testCase;
  for (const key of path.split('.')) {
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

/** `{{input}}`, `{{metadata.locale}}`: a missing field renders as an empty string, a list of strings one per line. */
export function renderText(template: string, testCase: TestCase): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookup(testCase, path);
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join('\n');
    return JSON.stringify(value);
  });
}

/** Renders a JSON body: a string that is exactly one placeholder takes the field's value with its JSON type. */
export function renderJson(template: unknown, testCase: TestCase): unknown {
  if (typeof template === 'string') {
    const whole = /^\{\{\s*([A-Za-z_][\w.]*)\s*\}\}$/.exec(template);
    if (whole) return lookup(testCase, whole[1]) ?? null;
    return renderText(template, testCase);
  }
  if (Array.isArray(template)) return template.map((item) => renderJson(item, testCase));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, renderJson(value, testCase)]));
  }
  return template;
}
