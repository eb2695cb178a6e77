/**
 * Back-channel logout (OpenID Back-Channel Logout 1.0): the server POSTs a logout token when a
 * login session at the server ends; the app validates it (§2.6) and ends its own sessions of that
 * login session (§2.7) in its token store, so every process that shares the store sees them gone.
 *
 * oauth4webapi validates no logout token: jose verifies the signature with the server's JWKS
 * (cached, fetched again for an unknown key) and the standard claims; the rest of §2.6 is here.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { AuthcodeClientError, InvalidResponseError, LogoutTokenError } from '../errors.js'
import { fingerprint } from '../events.js'
import type { ClientContext } from '../internal/context.js'
import { eventError, startTimer } from '../internal/events.js'

/** §2.4: the member of a logout token's `events` claim. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** A logout token is small (a few hundred bytes); anything this long is refused unread. */
export const MAX_LOGOUT_TOKEN_LENGTH = 16 * 1024

/** How old a logout token may be (`iat`), as for an ID token: the server sends it at once. */
const MAX_TOKEN_AGE = 600

/** Signature algorithms a logout token may use: those of ID tokens, never `none` or a MAC (§2.6 step 3, RFC 8725 §3.1). */
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/

export interface BackchannelLogoutResult {
  /** How many of the app's sessions it ended (0 when none was of that login session). */
  readonly sessionsEnded: number
}

/** The JWKS of each server metadata object, fetched when first needed (jose caches the keys and refetches on an unknown `kid`). */
const keySets = new WeakMap<object, JWTVerifyGetKey>()

/**
 * Validates a logout token (§2.6) and ends the sessions it names (§2.7). Rejects with
 * `LogoutTokenError` (`INVALID_LOGOUT_TOKEN`) for a token to refuse, with `StoreError` when the
 * store cannot answer, and with a `TypeError` when the token store cannot take back-channel
 * logouts (it has no `endSessions`).
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
 */
export async function backchannelLogout(context: ClientContext, logoutToken: string): Promise<BackchannelLogoutResult> {
  const endSessions = context.tokens.endSessions?.bind(context.tokens)
  if (endSessions === undefined) throw new TypeError('the token store cannot take back-channel logouts: it has no endSessions (every store of @authcode/client has)')
  const timer = startTimer()
  let sid: string | undefined
  const emit = (sessions: number, error?: unknown) =>
    context.emit({
      type: 'backchannel_logout',
      at: timer.at,
      durationMs: timer.elapsed(),
      outcome: error === undefined ? 'ended' : 'refused',
      token: fingerprint(typeof logoutToken === 'string' ? logoutToken : ''),
      sid: sid === undefined ? undefined : fingerprint(sid),
      sessions,
      error: error === undefined ? undefined : eventError(error),
    })
  try {
    const claims = await validateLogoutToken(context, logoutToken)
    sid = claims.sid
    const now = context.config.now()
    const ended = await endSessions({ iss: claims.iss, sid: claims.sid, sub: claims.sub, jti: claims.jti, expiresAt: claims.exp }, now)
    if (ended === 'replayed') throw new LogoutTokenError('the logout token was used before (its jti)')
    emit(ended)
    return { sessionsEnded: ended }
  } catch (error) {
    if (error instanceof AuthcodeClientError) emit(0, error)
    throw error
  }
}

interface LogoutClaims {
  iss: string
  sub: string | undefined
  sid: string | undefined
  jti: string
  exp: number
}

/** §2.6, in its order: a JWT signed by the server (steps 2, 3), its claims (4–9); step 10, the `jti`, is the store's. */
async function validateLogoutToken(context: ClientContext, token: string): Promise<LogoutClaims> {
  if (typeof token !== 'string' || token === '') throw new LogoutTokenError('no logout_token')
  if (token.length > MAX_LOGOUT_TOKEN_LENGTH) throw new LogoutTokenError('the logout token is too long')
  const { as } = await context.metadata.get()
  if (as.jwks_uri === undefined) throw new InvalidResponseError('INVALID_RESPONSE', 'the server publishes no jwks_uri: its logout tokens cannot be verified')
  const { config } = context
  const supported = config.idTokenSigningAlg === undefined ? (as.id_token_signing_alg_values_supported ?? ['RS256']) : [config.idTokenSigningAlg]
  const algorithms = supported.filter((alg) => ASYMMETRIC.test(alg))
  let payload: JWTPayload
  let typ: string | undefined
  try {
    const verified = await jwtVerify(token, keySet(context, as, as.jwks_uri), {
      issuer: as.issuer,
      audience: config.clientId,
      algorithms,
      requiredClaims: ['iat', 'exp', 'jti'],
      currentDate: new Date(config.now() * 1000),
      maxTokenAge: MAX_TOKEN_AGE,
    })
    payload = verified.payload
    typ = verified.protectedHeader.typ
  } catch (error) {
    throw new LogoutTokenError(`the logout token fails validation: ${reason(error)}`)
  }
  // §2.4: explicitly typed; a token without `typ` (earlier drafts) passes, an ID token's `JWT` does not.
  if (typ !== undefined && typ.toLowerCase().replace(/^application\//, '') !== 'logout+jwt') throw new LogoutTokenError('the logout token is not typed logout+jwt')
  const { events, sid, sub, jti, nonce } = payload as JWTPayload & { events?: unknown; sid?: unknown; nonce?: unknown }
  // §2.6 step 5: the back-channel logout event, an object.
  const event = typeof events === 'object' && events !== null && !Array.isArray(events) ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] : undefined
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new LogoutTokenError('the logout token has no back-channel logout event')
  // §2.6 step 6, 7: a sid or a sub (or both), each a string.
  if ((sid !== undefined && typeof sid !== 'string') || (sub !== undefined && typeof sub !== 'string')) throw new LogoutTokenError('sid and sub must be strings')
  if (sid === undefined && sub === undefined) throw new LogoutTokenError('the logout token names neither a sid nor a sub')
  // §2.6 step 8: a nonce would make it an ID token in disguise.
  if (nonce !== undefined) throw new LogoutTokenError('a logout token carries no nonce')
  if (typeof jti !== 'string' || jti === '') throw new LogoutTokenError('the logout token has no jti')
  return { iss: payload.iss as string, sub, sid, jti, exp: payload.exp as number }
}

function keySet(context: ClientContext, as: object, jwksUri: string): JWTVerifyGetKey {
  let keys = keySets.get(as)
  if (keys === undefined) {
    // jwks_uri was checked at discovery: https, or http on a loopback host.
    keys = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: context.config.timeoutMs,
      // Through the configured fetch, like every other back-channel call.
      [customFetch]: (input, init) => (context.config.fetch ?? fetch)(String(input), init),
    })
    keySets.set(as, keys)
  }
  return keys
}

/** What failed, in jose's words for its checks (a claim's name, an expired token), never the token. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return error.claim === 'iat' ? 'its iat is too long ago' : 'it has expired'
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.claim} ${error.reason === 'missing' ? 'is missing' : 'is not as expected'}`
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify'
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the server matches'
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not allowed'
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) return (error as errors.JOSEError).code
  return 'the server\'s keys could not be fetched'
}
