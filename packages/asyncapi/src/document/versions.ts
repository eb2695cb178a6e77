/** The AsyncAPI versions this package reads, each validated by the `@asyncapi/specs` schema of the same name. */
export const SCHEMA_VERSIONS = ['2.0.0', '2.1.0', '2.2.0', '2.3.0', '2.4.0', '2.5.0', '2.6.0', '3.0.0', '3.1.0'] as const

/** A version of the official AsyncAPI JSON Schema (`@asyncapi/specs`). */
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number]

/** The schema version for a declared `asyncapi` version (`2.6.0` → `2.6.0`, `3.0.1` → `3.0.0`), or undefined. */
export function schemaVersionOf(declared: string): SchemaVersion | undefined {
  const match = /^(\d+)\.(\d+)\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(declared)
  if (!match) return undefined
  const candidate = `${match[1]}.${match[2]}.0`
  return (SCHEMA_VERSIONS as readonly string[]).includes(candidate) ? (candidate as SchemaVersion) : undefined
}
