/**
 * The one compiled validator of `configFileSchema`, shared by every source that yields file-shaped
 * settings (the config file, the `AUTHCODE_*` variables), and the wording of its errors.
 */
import { Ajv, type ErrorObject } from 'ajv'
import type { SigningAlg } from '../tokens/algorithms.js'
import { configFileSchema } from './schema.js'

export interface RateLimitSetting {
  max?: number
  window?: number
}

/** The settings a config file may hold: every key optional, as the schema says. */
export interface FileConfig {
  issuer?: string
  port?: number
  host?: string
  metricsPort?: number
  metricsHost?: string
  adminPort?: number
  adminHost?: string
  db?: string
  dbPoolSize?: number
  dataDir?: string
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  logFormat?: 'auto' | 'json' | 'pretty'
  /** `false`, a hop count or addresses; `true` passes the schema only to be refused with a clear message. */
  trustProxy?: boolean | number | string[]
  dangerouslyAllowInsecureIssuer?: boolean
  lifetimes?: {
    code?: number
    accessToken?: number
    idToken?: number
    refreshTokenIdle?: number
    refreshTokenAbsolute?: number
    browserRefreshTokenAbsolute?: number
    loginSession?: number
    interaction?: number
  }
  accessToken?: { alg?: SigningAlg; audience?: string }
  keys?: { activationDelay?: number; cacheTtl?: number }
  scopes?: Record<string, string>
  resources?: { uri: string; name: string; scopes: string[]; accessTokenLifetime?: number }[]
  asyncapi?: { document?: string; scheme?: string }
  consent?: { skipForFirstParty?: boolean }
  rateLimit?: { loginPerAccount?: RateLimitSetting; loginPerIp?: RateLimitSetting; clientAuth?: RateLimitSetting; interactionsPerIp?: RateLimitSetting; adminAuth?: RateLimitSetting; registrationPerIp?: RateLimitSetting }
  purgeInterval?: number
  par?: { required?: boolean; lifetime?: number }
  dpop?: { requireNonce?: boolean }
  registration?: { mode?: 'off' | 'token' | 'open'; maxClients?: number }
  pages?: {
    productName?: string
    logo?: string
    stylesheet?: string
    accentColor?: string
    templates?: string
    messages?: string
    defaultLocale?: string
    passkeys?: boolean
  }
}

// Union types for `trustProxy` (a hop count or a list): one message ("must be boolean,integer,array").
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
const validate = ajv.compile<FileConfig>(configFileSchema)

/** The schema's problems with `data`, each with the instance path where Ajv found it; none when it conforms. */
export function schemaErrors(data: unknown): ErrorObject[] {
  return validate(data) ? [] : [...(validate.errors ?? [])]
}

/** The dotted key an error is about (`rateLimit.loginPerIp.max`), `''` at the top level. */
export function errorKey(error: ErrorObject): string {
  return error.instancePath.slice(1).replaceAll('/', '.')
}
