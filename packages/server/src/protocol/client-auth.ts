/**
 * Client authentication at the token, revocation, introspection and PAR endpoints (RFC 6749 §2.3,
 * OAuth 2.1 §2.4): `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523,
 * `protocol/client-assertion.ts`), or `none` for public clients; each client only by the method it
 * registered (either secret method for a secret); exactly one method per request; secrets compared as hashes in constant time; after a rotation
 * with a grace period the replaced secret works until the period ends, never after. Failures are
 * throttled per caller address and client, after the credentials are checked, so a client that
 * presents valid credentials is never refused by anyone else's failures (SECURITY.md 26).
 */
import { invalidClient, invalidRequest, isOAuthError } from './errors.js'
import { NO_EVENTS, type EventSink } from './events.js'
import type { Params } from './params.js'
import { throttleKey, type Throttle } from './rate-limit.js'
import { JWT_BEARER_ASSERTION, assertedClientId, verifyClientAssertion, type ClientAssertionDeps } from './client-assertion.js'
import type { ClientRecord, ClientStore } from './store.js'
import { hashToken, safeEqual } from '../tokens/secrets.js'

export interface ClientCredentialsInput {
  /** The `Authorization` header, if any. */
  authorization: string | undefined
  body: Params
  query: Params
}

type PresentedCredentials =
  | { method: 'secret'; clientId: string; secret: string }
  | { method: 'assertion'; clientId: string; assertion: string }
  | { method: 'none'; clientId: string }

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '))
  } catch {
    throw invalidRequest('client credentials in the Authorization header are not properly encoded')
  }
}

/** RFC 6749 §2.3.1: Basic over the form-urlencoded client id and secret. */
function readBasic(header: string): PresentedCredentials {
  const match = /^basic +(\S+)$/i.exec(header.trim())
  if (match === null) throw invalidClient('unsupported client authentication scheme')
  const encoded = match[1] ?? ''
  if (!BASE64.test(encoded)) throw invalidRequest('malformed Basic credentials')
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) throw invalidRequest('malformed Basic credentials')
  const clientId = formDecode(decoded.slice(0, colon))
  if (clientId === '') throw invalidClient('client authentication failed')
  return { method: 'secret', clientId, secret: formDecode(decoded.slice(colon + 1)) }
}

/** RFC 7521 §4.2: `client_assertion_type` and `client_assertion` together; `client_id`, if sent, the asserted one. */
function readAssertion(body: Params): PresentedCredentials | undefined {
  const type = body.single('client_assertion_type')
  const assertion = body.single('client_assertion')
  if (type === undefined && assertion === undefined) return undefined
  if (type !== JWT_BEARER_ASSERTION) throw invalidClient('unsupported client_assertion_type')
  if (assertion === undefined) throw invalidRequest('client_assertion is missing')
  const clientId = assertedClientId(assertion)
  const bodyId = body.single('client_id')
  if (bodyId !== undefined && bodyId !== clientId) throw invalidRequest('client_id does not match the client_assertion')
  return { method: 'assertion', clientId, assertion }
}

/** Which credentials the request presents; more than one method is `invalid_request`. */
function presentedCredentials(input: ClientCredentialsInput): PresentedCredentials {
  if (input.query.has('client_secret')) throw invalidRequest('client credentials must not be sent in the URL')
  const bodyId = input.body.single('client_id')
  const bodySecret = input.body.single('client_secret')
  const assertion = readAssertion(input.body)
  const methods = [input.authorization !== undefined, bodySecret !== undefined, assertion !== undefined].filter(Boolean).length
  if (methods > 1) throw invalidRequest('more than one client authentication method was used')
  if (assertion !== undefined) return assertion
  if (input.authorization !== undefined) {
    const basic = readBasic(input.authorization)
    if (bodyId !== undefined && bodyId !== basic.clientId) throw invalidRequest('client_id does not match the authenticated client')
    return basic
  }
  if (bodyId === undefined) throw invalidClient('client authentication is required')
  return bodySecret === undefined ? { method: 'none', clientId: bodyId } : { method: 'secret', clientId: bodyId, secret: bodySecret }
}

/** A client registered with either secret method may use both (RFC 6749 §2.3.1 names both). */
const SECRET_METHODS: ReadonlySet<string> = new Set(['client_secret_basic', 'client_secret_post'])

/** An assertion that fails is a failed authentication like a wrong secret: counted and throttled. */
async function assertionHolds(client: ClientRecord, assertion: string, deps: ClientAssertionDeps, now: number): Promise<boolean> {
  try {
    await verifyClientAssertion(client, assertion, deps, now)
    return true
  } catch (error) {
    if (isOAuthError(error) && error.error === 'invalid_client') return false
    throw error
  }
}

// Compared against when the client is unknown or public, so every failure costs the same.
const NO_SECRET = hashToken('authcode: no such client secret')

/**
 * Authenticates the client of a back-channel request. A failure counts against the caller's
 * address and that client (an unknown client writes nothing); past the limit the failure is a
 * 429, and a success is never refused.
 * @param caller the caller's address
 * @param events where a failure is reported (`client.auth_failed`)
 * @returns the authenticated client
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export async function authenticateClient(
  input: ClientCredentialsInput,
  clients: ClientStore,
  throttle: Throttle,
  caller: string,
  now: number,
  events: EventSink = NO_EVENTS,
  /** How assertions are checked; without it, `private_key_jwt` fails like a wrong secret. */
  assertions?: ClientAssertionDeps,
): Promise<ClientRecord> {
  let presented: PresentedCredentials
  try {
    presented = presentedCredentials(input)
  } catch (error) {
    // A malformed request (invalid_request) is not an authentication attempt; no credentials is.
    if (isOAuthError(error) && error.error === 'invalid_client') events.emit({ type: 'client.auth_failed', clientId: null, userId: null, reason: 'no_credentials' })
    throw error
  }
  const client = await clients.getClient(presented.clientId)
  let ok: boolean
  if (presented.method === 'none') {
    ok = client !== undefined && client.tokenEndpointAuthMethod === 'none'
  } else if (presented.method === 'assertion') {
    ok = client !== undefined && client.tokenEndpointAuthMethod === 'private_key_jwt' && assertions !== undefined && (await assertionHolds(client, presented.assertion, assertions, now))
  } else {
    const presentedHash = hashToken(presented.secret)
    const matches = safeEqual(presentedHash, client?.secretHash ?? NO_SECRET)
    // The secret a rotation replaced, during its grace period only; compared every time, so the
    // time taken says nothing of which one matched.
    const inGrace = client?.previousSecretExpiresAt != null && now < client.previousSecretExpiresAt
    const matchesPrevious = safeEqual(presentedHash, (inGrace ? client?.previousSecretHash : null) ?? NO_SECRET)
    ok =
      client !== undefined &&
      SECRET_METHODS.has(client.tokenEndpointAuthMethod) &&
      client.secretHash !== null &&
      (matches || (inGrace && client.previousSecretHash !== null && matchesPrevious))
  }
  if (ok && client !== undefined) return client
  if (client === undefined) {
    events.emit({ type: 'client.auth_failed', clientId: null, userId: null, reason: 'unknown_client' })
  } else {
    const counted = await throttle.reserve(throttleKey(caller, client.clientId), now)
    const reason = counted.reserved ? 'bad_credentials' : 'throttled'
    events.emit({ type: 'client.auth_failed', clientId: client.clientId, userId: null, reason })
    if (!counted.reserved) {
      throw invalidClient('too many failed client authentication attempts, retry later', { status: 429, retryAfter: counted.retryAfter })
    }
  }
  throw invalidClient('client authentication failed')
}
