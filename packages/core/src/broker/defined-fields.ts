/**
 * A copy of `partial` without the fields set to undefined, so that spreading it over defaults
 * keeps the defaults (`{ ...defaults, ackWaitMs: undefined }` would erase one).
 */
export function definedFields<T extends object>(partial: T | undefined): Partial<T> {
  const out: Partial<T> = {}
  if (partial === undefined || partial === null || typeof partial !== 'object') return out
  for (const [name, value] of Object.entries(partial)) {
    if (value !== undefined) (out as Record<string, unknown>)[name] = value
  }
  return out
}
