/**
 * The configuration file's JSON Schema: one source for validation and for the documented keys.
 * Every key is optional in the file; defaults live in `config/load.ts`.
 */
import { SIGNING_ALGS } from '../tokens/algorithms.js'

const seconds = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const
const limit = {
  type: 'object',
  additionalProperties: false,
  properties: { max: { type: 'integer', minimum: 1, maximum: 1_000_000 }, window: seconds(1, 86_400) },
} as const

export const configFileSchema = {
  $id: 'https://authcode.dev/schemas/config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    issuer: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    host: { type: 'string', minLength: 1 },
    // The Prometheus listener: absent, none. Never the public port (refused in config/load.ts).
    metricsPort: { type: 'integer', minimum: 1, maximum: 65535 },
    metricsHost: { type: 'string', minLength: 1 },
    // The admin API's listener: absent, none. Never the public or the metrics port (refused in config/load.ts).
    adminPort: { type: 'integer', minimum: 1, maximum: 65535 },
    adminHost: { type: 'string', minLength: 1 },
    db: { type: 'string', minLength: 1 },
    dbPoolSize: { type: 'integer', minimum: 1, maximum: 1000 },
    dataDir: { type: 'string', minLength: 1 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    // auto: pretty on a terminal, JSON lines otherwise (what log shippers read).
    logFormat: { enum: ['auto', 'json', 'pretty'] },
    // false, a hop count or proxy addresses; true is refused in config/load.ts with what to give instead.
    trustProxy: { type: ['boolean', 'integer', 'array'], minimum: 1, minItems: 1, items: { type: 'string', minLength: 1 } },
    dangerouslyAllowInsecureIssuer: { type: 'boolean' },
    lifetimes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
        code: seconds(1, 600),
        accessToken: seconds(1, 86_400),
        idToken: seconds(1, 86_400),
        refreshTokenIdle: seconds(60, 31_536_000),
        refreshTokenAbsolute: seconds(60, 31_536_000),
        // IETF OAuth 2.0 for Browser-Based Apps: an app in the browser keeps a refresh token less long (unless DPoP-bound).
        browserRefreshTokenAbsolute: seconds(60, 31_536_000),
        loginSession: seconds(60, 31_536_000),
        interaction: seconds(60, 86_400),
      },
    },
    accessToken: {
      type: 'object',
      additionalProperties: false,
      properties: {
        alg: { enum: SIGNING_ALGS },
        audience: { type: 'string', minLength: 1 },
      },
    },
    keys: {
      type: 'object',
      additionalProperties: false,
      properties: {
        activationDelay: seconds(0, 30 * 86_400),
        cacheTtl: seconds(1, 3_600),
      },
    },
    scopes: {
      type: 'object',
      propertyNames: { pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$' },
      additionalProperties: { type: 'string', minLength: 1, maxLength: 200 },
    },
    // RFC 8707: the protected resources `resource` may name; each token for one has it as `aud`
    // and only its scopes. The URIs are checked further in config/load.ts.
    resources: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['uri', 'name', 'scopes'],
        properties: {
          uri: { type: 'string', minLength: 1, maxLength: 2000 },
          name: { type: 'string', minLength: 1, maxLength: 100 },
          scopes: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$' } },
          accessTokenLifetime: seconds(1, 86_400),
        },
      },
    },
    asyncapi: {
      type: 'object',
      additionalProperties: false,
      required: ['document'],
      properties: { document: { type: 'string', minLength: 1 }, scheme: { type: 'string', minLength: 1 } },
    },
    consent: {
      type: 'object',
      additionalProperties: false,
      properties: { skipForFirstParty: { type: 'boolean' } },
    },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      properties: { loginPerAccount: limit, loginPerIp: limit, clientAuth: limit, interactionsPerIp: limit, adminAuth: limit, registrationPerIp: limit },
    },
    purgeInterval: seconds(10, 86_400),
    // RFC 9126: PAR for every client, and how long a request_uri lives.
    par: {
      type: 'object',
      additionalProperties: false,
      properties: { required: { type: 'boolean' }, lifetime: seconds(5, 600) },
    },
    // RFC 9449 §8: refuse DPoP proofs without a server nonce.
    dpop: {
      type: 'object',
      additionalProperties: false,
      properties: { requireNonce: { type: 'boolean' } },
    },
    // RFC 7591: who may register a client at the registration endpoint (off, with an initial access token, anyone).
    registration: {
      type: 'object',
      additionalProperties: false,
      properties: { mode: { enum: ['off', 'token', 'open'] }, maxClients: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
    },
    // The pages' brand and languages; files are read and checked when the app is built (interaction/pages.ts).
    pages: {
      type: 'object',
      additionalProperties: false,
      properties: {
        productName: { type: 'string', minLength: 1, maxLength: 100 },
        logo: { type: 'string', minLength: 1 },
        stylesheet: { type: 'string', minLength: 1 },
        accentColor: { type: 'string', pattern: '^#[0-9A-Fa-f]{6}$' },
        templates: { type: 'string', minLength: 1 },
        messages: { type: 'string', minLength: 1 },
        defaultLocale: { type: 'string', pattern: '^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$', maxLength: 35 },
        // Passkeys (WebAuthn) on the login and account pages; the relying party is the issuer.
        passkeys: { type: 'boolean' },
      },
    },
  },
} as const
