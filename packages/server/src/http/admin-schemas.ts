/**
 * The JSON Schemas of the admin API's bodies and answers: one source for Fastify's validation of
 * each request (`http/admin-app.ts`) and for the OpenAPI document (`http/admin-openapi.ts`), so the
 * two cannot drift apart. Each schema names exactly the members of the admin service's type it
 * describes (the compiler checks it); the service still checks every value, the schemas the shape:
 * unknown members, wrong types, missing required ones.
 *
 * Written in the part of JSON Schema that draft-07 (Fastify's Ajv) and 2020-12 (OpenAPI 3.1) read alike.
 */
import type { ClientJson, ClientUpdate, ClientWithSecret, NewClient } from '../admin/clients.js'
import type { KeyJson } from '../admin/keys.js'
import type { RegistrationTokenJson } from '../admin/registration-tokens.js'
import type { NewUser, UserJson, UserUpdate } from '../admin/users.js'
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../protocol/clients.js'
import { SUPPORTED_GRANT_TYPES } from '../protocol/grants/index.js'
import { ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import type { SigningKeyState } from '../tokens/key-ring.js'
import { PROBLEM_TYPES, problemTypeUri, type Problem } from './admin-problems.js'

/** The JSON Schema keywords these schemas use. */
export interface JsonSchema {
  type?: 'string' | 'integer' | 'boolean' | 'object' | 'array' | readonly ('string' | 'integer' | 'null')[]
  description?: string
  properties?: Readonly<Record<string, JsonSchema>>
  required?: readonly string[]
  additionalProperties?: boolean
  items?: JsonSchema | { $ref: string }
  enum?: readonly unknown[]
  const?: unknown
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  writeOnly?: boolean
  examples?: readonly unknown[]
}

/** The keys of `T` that are not optional. */
type RequiredKeys<T> = Extract<{ [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T], string>

/**
 * An object with exactly the members of `T` (`properties` must name every key, and nothing else),
 * its non-optional ones `required` (all of them, checked), and no others allowed.
 */
function objectOf<T>() {
  return <const R extends readonly RequiredKeys<T>[]>(
    description: string,
    properties: { readonly [K in keyof Required<T>]: JsonSchema },
    required: R & ([Exclude<RequiredKeys<T>, R[number]>] extends [never] ? unknown : 'a required key is missing'),
  ): JsonSchema => ({ type: 'object', description, properties, required, additionalProperties: false })
}

const text = (description: string): JsonSchema => ({ type: 'string', description })
const flag = (description: string): JsonSchema => ({ type: 'boolean', description })
const seconds = (description: string): JsonSchema => ({ type: 'integer', description: `${description} (seconds since the epoch)` })
const uris = (description: string): JsonSchema => ({ type: 'array', description, items: { type: 'string' } })
const nullableText = (description: string): JsonSchema => ({ type: ['string', 'null'], description })
const nullableSeconds = (description: string): JsonSchema => ({ type: ['integer', 'null'], description: `${description} (seconds since the epoch)` })

const KEY_STATES = ['pending', 'active', 'superseded', 'retired', 'expired'] as const satisfies readonly SigningKeyState[]
// Every state a key can be in is listed (the compiler says so when one is added).
const _everyKeyState: [Exclude<SigningKeyState, (typeof KEY_STATES)[number]>] extends [never] ? true : never = true
void _everyKeyState

/** RFC 7591 §2 client metadata, as every answer about a client has it. */
const clientProperties = {
  client_id: text('RFC 7591 §3.2.1: the client identifier'),
  client_name: text('the name users see on the consent page'),
  redirect_uris: uris('compared by exact string at /authorize'),
  scope: text('the scopes the client may request, space-separated'),
  token_endpoint_auth_method: { type: 'string', enum: TOKEN_ENDPOINT_AUTH_METHODS, description: 'none for a public client' },
  grant_types: { type: 'array', items: { type: 'string', enum: SUPPORTED_GRANT_TYPES }, description: 'RFC 7591 §2' },
  response_types: { type: 'array', items: { const: 'code' }, minItems: 1, maxItems: 1, description: 'RFC 7591 §2: always ["code"]' },
  post_logout_redirect_uris: uris('OpenID RP-Initiated Logout: where the client may send the browser after a logout'),
  backchannel_logout_uri: text('OpenID Back-Channel Logout: where logout tokens are POSTed; absent when none'),
  id_token_signed_response_alg: { type: 'string', enum: ID_TOKEN_ALGS, description: 'the algorithm of the client\'s ID tokens' },
  first_party: flag('consent may be skipped (config consent.skipForFirstParty)'),
  pkce_optional: flag('a confidential client allowed to omit PKCE'),
  jwks: { type: 'object', description: 'private_key_jwt: the client\'s public keys (RFC 7517 §5 JWK Set)' },
  jwks_uri: text('private_key_jwt: where the client\'s public keys are fetched'),
  require_pushed_authorization_requests: flag('RFC 9126 §6: only pushed authorization requests'),
  dpop_bound_access_tokens: flag('RFC 9449 §5.2: token requests need a DPoP proof'),
  web_origins: uris('a public client\'s origins whose pages may call /token, /revoke and /par (CORS), besides its redirect URIs\' origins'),
  registered_dynamically: flag('RFC 7591: the client registered itself at the registration endpoint (not vouched for by the operator)'),
  created_at: seconds('when the client was registered'),
} as const satisfies { readonly [K in keyof Required<ClientJson>]: JsonSchema }

const clientRequired = [
  'client_id',
  'client_name',
  'redirect_uris',
  'scope',
  'token_endpoint_auth_method',
  'grant_types',
  'response_types',
  'post_logout_redirect_uris',
  'id_token_signed_response_alg',
  'first_party',
  'pkce_optional',
  'require_pushed_authorization_requests',
  'dpop_bound_access_tokens',
  'web_origins',
  'registered_dynamically',
  'created_at',
] as const

const client = objectOf<ClientJson>()('A registered client, in RFC 7591 client metadata names; never its secret', clientProperties, clientRequired)

const clientWithSecret = objectOf<ClientWithSecret>()(
  'A client with the secret just made: shown this once, stored only as a hash',
  {
    ...clientProperties,
    client_secret: text('the new secret (confidential clients): keep it now'),
    client_secret_expires_at: { type: 'integer', const: 0, description: 'RFC 7591 §3.2.1: 0, the secret does not expire' },
    previous_secret_expires_at: seconds('after a rotation with a grace period: until when the replaced secret still works'),
  },
  clientRequired,
)

const newClient = objectOf<NewClient>()(
  'A client to register (RFC 7591 §2 metadata); checked by the rules of authcode client add',
  {
    client_name: text('the name users see on the consent page'),
    redirect_uris: uris('at least one; https, or a loopback or private-use URI for a public native client; no fragment'),
    scope: text('space-separated scopes the server offers; default "openid profile email"'),
    token_endpoint_auth_method: { type: 'string', enum: TOKEN_ENDPOINT_AUTH_METHODS, description: 'default client_secret_basic; none registers a public client' },
    post_logout_redirect_uris: uris('OpenID RP-Initiated Logout'),
    backchannel_logout_uri: text('OpenID Back-Channel Logout: https, or http on a loopback host'),
    id_token_signed_response_alg: { type: 'string', enum: ID_TOKEN_ALGS, description: 'default RS256' },
    first_party: flag('consent may be skipped (config consent.skipForFirstParty); default false'),
    pkce_optional: flag('a confidential client allowed to omit PKCE; default false'),
    jwks: { type: 'object', description: 'private_key_jwt: a JWK Set of public keys' },
    jwks_uri: text('private_key_jwt: the https URL of the client\'s JWK Set'),
    require_pushed_authorization_requests: flag('RFC 9126 §6; default false'),
    dpop_bound_access_tokens: flag('RFC 9449 §5.2; default false'),
    web_origins: uris('public clients only: serialized origins (https://app.example; http on localhost or a loopback IP) allowed CORS; default none'),
  },
  ['client_name', 'redirect_uris'],
)

const clientUpdate = objectOf<ClientUpdate>()(
  'The metadata to change; a member left out stays as it is. Lists are replaced whole: a removed redirect URI is refused from now on',
  {
    client_name: text('the name users see on the consent page'),
    redirect_uris: uris('replaces the list; codes and sign-ins in progress for a removed URI end'),
    scope: text('space-separated; replaces the scopes'),
    post_logout_redirect_uris: uris('replaces the list'),
    backchannel_logout_uri: nullableText('null removes it'),
    web_origins: uris('public clients only: replaces the list'),
  },
  [],
)

const secretRotation = objectOf<{ grace?: number }>()(
  'How the replaced secret ends',
  { grace: { type: 'integer', description: 'seconds the replaced secret keeps working (0 to 2592000); default 0: it stops at once' } },
  [],
)

const user = objectOf<UserJson>()(
  'A user; never the password or its hash',
  {
    id: text('the OpenID sub'),
    username: text('what the user signs in with'),
    name: nullableText('the name claim'),
    email: nullableText('the email claim'),
    email_verified: flag('the email_verified claim'),
    disabled: flag('a disabled user cannot sign in, and nothing issued to them works'),
    created_at: seconds('when the user was added'),
    updated_at: seconds('when the user was last changed'),
  },
  ['id', 'username', 'name', 'email', 'email_verified', 'disabled', 'created_at', 'updated_at'],
)

const password = (description: string): JsonSchema => ({ type: 'string', writeOnly: true, description: `${description}; 8 to 1024 characters, hashed with scrypt, never shown` })

const newUser = objectOf<NewUser>()(
  'A user to add',
  {
    username: text('1 to 64 of A-Z a-z 0-9 _ . @ + -'),
    password: password('the password'),
    name: nullableText('the name claim; empty or null for none'),
    email: nullableText('the email claim; empty or null for none'),
    email_verified: flag('default false'),
  },
  ['username', 'password'],
)

const userUpdate = objectOf<UserUpdate>()(
  'What to change; a member left out stays as it is',
  {
    name: nullableText('the name claim; empty or null for none'),
    email: nullableText('a new address is unverified unless email_verified says otherwise'),
    email_verified: flag('the email_verified claim'),
    password: password('a new password: every session of the user ends'),
    disabled: flag('true: sessions end, every grant and token is revoked, sign-in fails as for a wrong password; false: the user may sign in again'),
  },
  [],
)

const key = objectOf<KeyJson>()(
  'A signing key; never its private part',
  {
    kid: text('the key id, as in the JWKS and token headers'),
    alg: text('the JWS algorithm'),
    state: { type: 'string', enum: KEY_STATES, description: 'pending (published, not signing yet), active (signs), superseded or retired (published for verification), expired (removed at the next prune)' },
    created_at: seconds('when the key was made'),
    activates_at: seconds('when it signs (or signed) from'),
    retired_at: nullableSeconds('when an administrator retired it'),
    published_until: nullableSeconds('when it leaves the JWKS; null while that waits on a rotation to come'),
  },
  ['kid', 'alg', 'state', 'created_at', 'activates_at', 'retired_at', 'published_until'],
)

const keyRotation = objectOf<{ kids: string[]; active_from: number }>()(
  'The keys a rotation published',
  {
    kids: { type: 'array', items: { type: 'string' }, description: 'the new keys, one per algorithm' },
    active_from: seconds('when they sign: now + keys.activationDelay; the current keys stay published until their tokens expire'),
  },
  ['kids', 'active_from'],
)

/** The body of `POST /admin/registration-tokens`: the options of `authcode registration-token create`. */
export interface NewRegistrationToken {
  name: string
  expires_in?: number
}

const registrationTokenProperties = {
  id: text('the token\'s id: registration_token_id in audit events'),
  name: text('the token\'s name, unique among the tokens not revoked'),
  created_at: seconds('when the token was made'),
  expires_at: nullableSeconds('after this it registers nothing; null: until revoked'),
  last_used_at: nullableSeconds('when a client last registered with it'),
  revoked_at: nullableSeconds('when it was revoked'),
} as const satisfies { readonly [K in keyof Required<RegistrationTokenJson>]: JsonSchema }

const registrationTokenRequired = ['id', 'name', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'] as const

const registrationToken = objectOf<RegistrationTokenJson>()(
  'An initial access token of dynamic client registration (RFC 7591 §1.2), as registration-token list --json shows it; never the token or its hash',
  registrationTokenProperties,
  registrationTokenRequired,
)

const registrationTokenWithToken = objectOf<RegistrationTokenJson & { token: string }>()(
  'A registration token just made, as registration-token create --json prints it: the token is shown this once, stored only as a hash',
  { ...registrationTokenProperties, token: text('the token: a client sends it as Authorization: Bearer at the registration endpoint; keep it now') },
  [...registrationTokenRequired, 'token'],
)

const newRegistrationToken = objectOf<NewRegistrationToken>()(
  'A registration token to make; checked by the rules of authcode registration-token create',
  {
    name: text('1 to 64 of A-Z a-z 0-9 _ . -; names it in the audit events'),
    expires_in: { type: 'integer', description: 'it registers nothing after this many seconds (1 to 31536000, a year); default: until revoked' },
  },
  ['name'],
)

const problem = objectOf<Problem>()(
  'RFC 9457 problem details',
  {
    type: { type: 'string', enum: Object.keys(PROBLEM_TYPES).map((type) => problemTypeUri(type as keyof typeof PROBLEM_TYPES)), description: 'the kind of problem' },
    title: text('the kind of problem, in words'),
    status: { type: 'integer', description: 'the HTTP status' },
    detail: text('what is wrong, naming the member at fault'),
    field: text('the request member at fault (a JSON member, a query parameter or a path parameter), when one is'),
  },
  ['type', 'title', 'status', 'detail'],
)

/** Every named schema: components.schemas of the OpenAPI document. */
export const ADMIN_SCHEMAS = {
  Client: client,
  ClientWithSecret: clientWithSecret,
  NewClient: newClient,
  ClientUpdate: clientUpdate,
  SecretRotation: secretRotation,
  User: user,
  NewUser: newUser,
  UserUpdate: userUpdate,
  Key: key,
  KeyRotation: keyRotation,
  RegistrationToken: registrationToken,
  RegistrationTokenWithToken: registrationTokenWithToken,
  NewRegistrationToken: newRegistrationToken,
  Problem: problem,
} as const satisfies Record<string, JsonSchema>

export type AdminSchemaName = keyof typeof ADMIN_SCHEMAS

/** A path parameter naming an object: any text; an id that names nothing is 404. */
export const idParameter = (description: string): JsonSchema => ({ type: 'string', description })
