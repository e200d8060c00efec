/**
 * Small object helpers shared by every room (no imports, so anything may use them).
 *
 * `exactOptionalPropertyTypes` is on: an optional property must be absent, not `undefined`, so
 * objects assembled from optional values are passed through one of these.
 */

/** The same object without its `undefined` (and `null`) properties. */
export function definedFields<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], null | undefined> } {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) if (v !== undefined && v !== null) out[name] = v;
  return out as { [K in keyof T]: Exclude<T[K], null | undefined> };
}

/** `{ [name]: value }` when value is defined (not undefined or null), else `{}`: spread it. */
export function optional<K extends string, V>(name: K, value: V | undefined | null): { [P in K]?: V } {
  return (value === undefined || value === null ? {} : { [name]: value }) as { [P in K]?: V };
}
