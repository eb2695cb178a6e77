/**
 * The `AUTHCODE_*` variables, derived from the config file's schema: every key has one, named by
 * its path in upper snake case under `AUTHCODE_` (`lifetimes.code` → `AUTHCODE_LIFETIMES_CODE`,
 * `rateLimit.loginPerIp.max` → `AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX`). A value is read by the
 * key's type (integers in decimal, booleans `true`/`false`, a map as a JSON object, a list as a JSON array) and checked by
 * the same schema as the file; an empty value counts as unset.
 */
import type { ErrorObject } from 'ajv'
import { ConfigError } from './errors.js'
import { configFileSchema } from './schema.js'
import { errorKey, schemaErrors, type FileConfig } from './validate.js'

/** How a variable's text becomes the key's value. */
export type EnvKind = 'integer' | 'boolean' | 'string' | 'json' | 'json-array' | 'flag-syntax'

export interface EnvVariable {
  /** `AUTHCODE_LIFETIMES_CODE` */
  name: string
  /** The config-file key, dotted: `lifetimes.code` */
  key: string
  kind: EnvKind
}

/** Variables not named by the rule: they were there first, and keep their names. */
const NAMED: Readonly<Record<string, string>> = { 'asyncapi.document': 'AUTHCODE_ASYNCAPI' }

/**
 * Top-level keys whose variable takes the same text as their command-line flag and is checked
 * with it in `config/load.ts`, so that both say the same about a bad value: `trustProxy` (a hop
 * count, or addresses and CIDR ranges comma-separated, as `--trust-proxy`).
 */
const FLAG_SYNTAX = new Set(['trustProxy'])

/** Keys with no variable: `$schema` is for editors and means nothing to the server. */
const SKIPPED = new Set(['$schema'])

/** Variables that are not config-file keys (the secret is never in the file; the file cannot name itself). */
export const OTHER_VARIABLES = ['AUTHCODE_CONFIG', 'AUTHCODE_SECRET'] as const

/** The settings of the variables: as in a file, but `trustProxy` as its flag's text. */
export type EnvConfig = Omit<FileConfig, 'trustProxy'> & { trustProxy?: string }

interface SchemaNode {
  type?: string | readonly string[]
  enum?: readonly unknown[]
  properties?: Readonly<Record<string, SchemaNode>>
}

/** `rateLimit.loginPerIp.max` → `AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX` */
export function variableName(key: string): string {
  return NAMED[key] ?? `AUTHCODE_${key.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`
}

function kindOf(key: string, node: SchemaNode): EnvKind {
  if (FLAG_SYNTAX.has(key)) return 'flag-syntax'
  if (node.enum !== undefined) return 'string'
  switch (node.type) {
    case 'integer':
      return 'integer'
    case 'boolean':
      return 'boolean'
    case 'string':
      return 'string'
    case 'object':
      return 'json'
    case 'array':
      return 'json-array'
  }
  throw new TypeError(`config/env.ts: no way to read ${key} (type ${JSON.stringify(node.type)}) from a variable; add it to FLAG_SYNTAX or give it a type`)
}

/** Every leaf of the schema (a key with a value of its own), depth first, in the schema's order. */
function walk(properties: Readonly<Record<string, SchemaNode>>, prefix: string): EnvVariable[] {
  return Object.entries(properties).flatMap(([property, node]) => {
    const key = `${prefix}${property}`
    if (SKIPPED.has(key)) return []
    if (node.properties !== undefined) return walk(node.properties, `${key}.`)
    return [{ name: variableName(key), key, kind: kindOf(key, node) }]
  })
}

/** Every `AUTHCODE_*` variable a config-file key has, derived from `configFileSchema`. */
export const ENV_VARIABLES: readonly EnvVariable[] = Object.freeze(walk((configFileSchema as SchemaNode).properties ?? {}, ''))

{
  // Two keys may never share a variable, nor a key take a name that means something else.
  const seen = new Set<string>(OTHER_VARIABLES)
  for (const { name, key } of ENV_VARIABLES) {
    if (seen.has(name)) throw new TypeError(`config/env.ts: ${key} would be read from ${name}, which is taken`)
    seen.add(name)
  }
}

/** The variable an error at `key` (or inside it) is about. */
function variableFor(key: string): string {
  for (let path = key; path !== ''; path = path.slice(0, Math.max(path.lastIndexOf('.'), 0))) {
    const found = ENV_VARIABLES.find((variable) => variable.key === path)
    if (found !== undefined) return found.name
  }
  return 'AUTHCODE_*'
}

function parse(variable: EnvVariable, text: string): unknown {
  switch (variable.kind) {
    case 'integer': {
      const value = Number(text)
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new ConfigError(`${variable.name}: not an integer: ${JSON.stringify(text)}`)
      return value
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new ConfigError(`${variable.name}: expected true or false, not ${JSON.stringify(text)}`)
      return text === 'true'
    case 'json': {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        value = undefined
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError(`${variable.name}: expected a JSON object, e.g. {"orders:read":"Read your orders"}`)
      }
      return value
    }
    case 'json-array': {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        value = undefined
      }
      if (!Array.isArray(value)) throw new ConfigError(`${variable.name}: expected a JSON array, e.g. [{"uri":"https://api.example.com","name":"API","scopes":["orders:read"]}]`)
      return value
    }
    case 'string':
    case 'flag-syntax':
      return text
  }
}

function describe(error: ErrorObject): string {
  return `${variableFor(errorKey(error))}: ${error.message ?? 'is invalid'}`
}

/**
 * What the `AUTHCODE_*` variables set, shaped as a config file, checked by the file's schema.
 * Keys of `FLAG_SYNTAX` are returned as given, for `config/load.ts` to check with their flag.
 * @throws ConfigError one line naming the variable (each variable's problem, `; `-separated)
 */
export function readEnvironment(env: Readonly<Record<string, string | undefined>>): EnvConfig {
  const settings: Record<string, unknown> = {}
  const raw: Record<string, string> = {}
  for (const variable of ENV_VARIABLES) {
    const text = env[variable.name]
    if (text === undefined || text === '') continue
    if (variable.kind === 'flag-syntax') {
      raw[variable.key] = text
      continue
    }
    const parts = variable.key.split('.')
    const leaf = parts.pop() ?? variable.key
    let parent = settings
    for (const part of parts) parent = (parent[part] ??= {}) as Record<string, unknown>
    parent[leaf] = parse(variable, text)
  }
  // `required` is the file's rule for a whole section (asyncapi.document); a variable may give the
  // rest of a section whose other keys come from a flag or the file.
  const problems = schemaErrors(settings).filter((error) => error.keyword !== 'required')
  if (problems.length > 0) throw new ConfigError(problems.map(describe).join('; '))
  return { ...(settings as Omit<FileConfig, 'trustProxy'>), ...raw }
}
