/**
 * Whether Postgres refused a statement because of the data it carried, not because it is unreachable: SQLSTATE
 * class 22 (data exception: a NUL in text or jsonb, an invalid escape, a value out of range) or 54 (a program
 * limit: a value too large). Retrying such a write cannot succeed; it is the item's error.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code);
}
