/**
 * A small JSONPath subset for mapping an agent's response: `$`, `.field`, `['field']`, `["field"]`, `[n]`
 * (negative from the end) and `[*]`. Returns every match, in document order.
 */
export function selectJsonPath(document: unknown, expression: string): unknown[] {
  const segments = parseJsonPath(expression);
  let current: unknown[] = [document];
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const node of current) {
      if (segment === '*') {
        if (Array.isArray(node)) next.push(...node);
        else if (node && typeof node === 'object') next.push(...Object.values(node));
      } else if (typeof segment === 'number') {
        if (Array.isArray(node)) {
          const item = node[segment < 0 ? node.length + segment : segment];
          if (item !== undefined) next.push(item);
        }
      } else if (node && typeof node === 'object' && !Array.isArray(node) && segment in node) {
        next.push((node as Record<string, unknown>)[segment]);
      }
    }
    current = next;
  }
  return current;
}

export function parseJsonPath(expression: string): Array<string | number> {
  if (!expression.startsWith('$')) throw new Error(`JSONPath "${expression}" must start with $`);
  const segments: Array<string | number> = [];
  const pattern = /\.([A-Za-z_$][\w$-]*)|\.\*|\[\*\]|\[(-?\d+)\]|\[(['"])(.*?)\3\]/y;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < expression.length) {
    const at = pattern.lastIndex;
    const match = pattern.exec(expression);
    if (!match) throw new Error(`JSONPath "${expression}": cannot read "${expression.slice(at)}"`);
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[4] !== undefined) segments.push(match[4]);
    else segments.push('*');
  }
  return segments;
}
