type PathSegment = string | number;

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in the strings under the given top-level keys (target, judge,
 * providers), so secrets such as an agent's bearer token stay in the environment. Case data is never touched.
 */
export function interpolateEnvironment(
  input: unknown,
  keys: readonly string[],
  env: NodeJS.ProcessEnv,
  onMissing: (path: PathSegment[], message: string) => void,
): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const result: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const key of keys) {
    if (key in result) result[key] = walk(result[key], [key], env, onMissing);
  }
  return result;
}

function walk(value: unknown, path: PathSegment[], env: NodeJS.ProcessEnv, onMissing: (path: PathSegment[], message: string) => void): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      onMissing(path, `environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index], env, onMissing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k], env, onMissing)]));
  }
  return value;
}
