/** Environment variables whose values are credentials and must never reach a log, a report or an error. */
const SECRET_VARIABLE = /(_API_KEY|_TOKEN|_SECRET|_PASSWORD)$/;

/** The values of the environment's credential variables (8 characters or more: shorter ones would redact words). */
export function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env).flatMap(([name, value]) => (value && value.length >= 8 && SECRET_VARIABLE.test(name) ? [value] : []));
}

/** Shapes of provider keys, redacted even when they did not come from this process's environment. */
const KEY_SHAPES = [/sk-ant-[A-Za-z0-9_-]{8,}/g, /sk-[A-Za-z0-9_-]{16,}/g, /Bearer\s+[A-Za-z0-9._~+/=-]{12,}/g];

/** Replaces every known secret value in `text` with `[REDACTED]`. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let result = text;
  for (const value of environmentSecrets(env)) result = result.split(value).join('[REDACTED]');
  for (const shape of KEY_SHAPES) result = result.replace(shape, '[REDACTED]');
  return result;
}
