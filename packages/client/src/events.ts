/**
 * Observing the flow: the `onEvent` option of `OAuthClient` receives one typed event per step the
 * client backend takes or sees — the authorization request it built, the callback it checked, each
 * token request (code exchange and refresh), each call with an access token, each revocation —
 * with its timing and the parameters that matter.
 *
 * Events never hold a secret. Codes, tokens, the client secret, `state`, the PKCE verifier, the
 * `nonce`, login and session ids appear only as a {@link fingerprint} (6 hex characters of their
 * SHA-256), so that an event can be stored, logged or shown as it is.
 */
import { createHash } from 'node:crypto'
import type { AuthcodeClientErrorCode } from './errors.js'

/** 6 hex characters of a SHA-256: enough to tell two values apart on a page, useless to an attacker. */
export type Fingerprint = string

/**
 * The first 6 hex characters of the value's SHA-256, the only form in which events carry a secret.
 *
 * @example
 * ```ts
 * fingerprint('the code') // 'c0f4b1' (say): compare with what an event shows, never the other way round
 * ```
 */
export function fingerprint(value: string): Fingerprint {
  return createHash('sha256').update(value).digest('hex').slice(0, 6)
}

/** What every event has. Times are the wall clock in milliseconds since the epoch. */
export interface FlowEventBase {
  /** When the step started. */
  readonly at: number
  /** How long the step took (for a request: from sending it to having validated the answer). */
  readonly durationMs: number
}

/** A step that failed: this package's error code, and the server's OAuth error when it sent one. */
export interface FlowEventError {
  /** `RESOURCE_REFUSED`: a resource server's `WWW-Authenticate` challenge (RFC 6750 §3). */
  readonly code: AuthcodeClientErrorCode | 'RESOURCE_REFUSED'
  /** This package's message (never a secret). */
  readonly message: string
  /** The server's RFC 6749 `error` (`access_denied`, `invalid_grant`, …), when it sent one. */
  readonly error?: string
  /** The server's `error_description`: text from the server, escape it before showing it. */
  readonly errorDescription?: string
  /** The HTTP status of a back-channel answer. */
  readonly status?: number
}

/** `buildAuthorizationUrl`: the request the browser is sent to (RFC 6749 §4.1.1, RFC 7636 §4.3). */
export interface AuthorizationRequestEvent extends FlowEventBase {
  readonly type: 'authorization_request'
  /** The login attempt's id (the login cookie's value). */
  readonly attempt: Fingerprint
  /** The authorization endpoint, without the query. */
  readonly endpoint: string
  readonly clientId: string
  readonly redirectUri: string
  /** The scope asked for. */
  readonly scope: string
  readonly state: Fingerprint
  readonly codeVerifier: Fingerprint
  readonly codeChallenge: Fingerprint
  readonly codeChallengeMethod: 'S256'
  /** Present when `openid` was asked. */
  readonly nonce: Fingerprint | undefined
  readonly prompt: string | undefined
  readonly maxAge: number | undefined
  /** When the attempt expires, in seconds since the epoch (the client's clock). */
  readonly expiresAt: number
}

/**
 * How a check of the callback ended: `passed`, `failed`, `absent` (`iss` not sent by a server that
 * does not promise it, RFC 9207 §2.4) or `not_reached` (an earlier check failed).
 */
export type CheckOutcome = 'passed' | 'failed' | 'absent' | 'not_reached'

/**
 * `handleCallback`, up to the token request: the redirect back from the server and the checks made
 * on it before any request (RFC 6749 §4.1.2, RFC 9207). `outcome` is `accepted` (a token request
 * follows), `error_response` (the server answered `?error=`, e.g. `access_denied`) or `refused`.
 */
export interface CallbackEvent extends FlowEventBase {
  readonly type: 'callback'
  readonly outcome: 'accepted' | 'error_response' | 'refused'
  /** The login attempt the browser's cookie named; undefined when it sent none. */
  readonly attempt: Fingerprint | undefined
  /** What the callback carried. */
  readonly received: {
    readonly code: Fingerprint | undefined
    readonly state: Fingerprint | undefined
    /** The `iss` parameter as sent (an issuer identifier is public). */
    readonly iss: string | undefined
    readonly error: string | undefined
  }
  readonly checks: {
    /** A login attempt of this browser, unused and unexpired. */
    readonly attempt: CheckOutcome
    /** Exactly one `state`, equal to the attempt's (RFC 6749 §10.12). */
    readonly state: CheckOutcome
    /** `iss` equal to the issuer the attempt was started at (RFC 9207 §2.4). */
    readonly iss: CheckOutcome
  }
  /** The issuer the attempt was started at, once the attempt is known. */
  readonly issuer: string | undefined
  readonly error: FlowEventError | undefined
}

/** What a successful token response held, tokens as fingerprints. */
export interface TokenResponseSummary {
  readonly tokenType: string
  /** `expires_in` as the server sent it (seconds). */
  readonly expiresIn: number | undefined
  /** The granted scope, when the server said. */
  readonly scope: string | undefined
  readonly accessToken: Fingerprint
  readonly refreshToken: Fingerprint | undefined
  readonly idToken: Fingerprint | undefined
  /** From the validated ID token: when the user authenticated (seconds since the epoch). */
  readonly authTime: number | undefined
  /** From the validated ID token: `iat` and `exp` (seconds since the epoch). */
  readonly idTokenIssuedAt: number | undefined
  readonly idTokenExpiresAt: number | undefined
  /** From the validated ID token: the server's login session (`sid`), which a back-channel logout names. */
  readonly sid: Fingerprint | undefined
}

/**
 * One request to the token endpoint and its answer (RFC 6749 §4.1.3 for the code, §6 for a
 * refresh), made on the back channel with client authentication.
 */
export interface TokenEvent extends FlowEventBase {
  readonly type: 'token'
  readonly grant: 'authorization_code' | 'refresh_token'
  /** The token (or refresh) endpoint, without the query. */
  readonly endpoint: string
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt'
  readonly clientSecret: Fingerprint | undefined
  /** For the code grant. */
  readonly code: Fingerprint | undefined
  readonly codeVerifier: Fingerprint | undefined
  /** For a refresh: the refresh token presented. */
  readonly refreshToken: Fingerprint | undefined
  /** The session the tokens are (or were to be) stored under. */
  readonly session: Fingerprint | undefined
  /** The HTTP status of the answer, when one came. */
  readonly status: number | undefined
  readonly response: TokenResponseSummary | undefined
  readonly error: FlowEventError | undefined
  /** True when the failure ended the session (a refused refresh token). */
  readonly sessionEnded: boolean
}

/** One request with the session's access token: UserInfo or `client.fetch` (RFC 6750 §2.1). */
export interface ResourceEvent extends FlowEventBase {
  readonly type: 'resource'
  readonly kind: 'userinfo' | 'resource'
  readonly method: string
  /** The URL without its query. */
  readonly url: string
  readonly session: Fingerprint
  readonly accessToken: Fingerprint
  /** 1, or 2 for the retry after a refresh that followed an `invalid_token` answer. */
  readonly try: 1 | 2
  readonly status: number | undefined
  readonly error: FlowEventError | undefined
}

/** `revoke` / `logout`: the revocation request (RFC 7009 §2.1), or `skipped` without an endpoint. */
export interface RevocationEvent extends FlowEventBase {
  readonly type: 'revocation'
  readonly outcome: 'revoked' | 'failed' | 'skipped'
  readonly endpoint: string | undefined
  readonly tokenTypeHint: 'refresh_token' | 'access_token'
  readonly token: Fingerprint
  readonly session: Fingerprint
  readonly error: FlowEventError | undefined
}

/**
 * `logout`: where the browser is sent to end the sign-in at the server too (OpenID RP-Initiated
 * Logout §2), when the server offers an `end_session_endpoint`.
 */
export interface EndSessionEvent extends FlowEventBase {
  readonly type: 'end_session'
  /** The end-session endpoint, without the query. */
  readonly endpoint: string
  readonly clientId: string
  readonly postLogoutRedirectUri: string | undefined
  /** Present when the ID token was sent as `id_token_hint`. */
  readonly idTokenHint: Fingerprint | undefined
  /** Present when a `state` was sent. */
  readonly state: Fingerprint | undefined
  readonly session: Fingerprint
}

/**
 * `backchannelLogout`: a logout token the server POSTed (OpenID Back-Channel Logout §2.5), and how
 * many sessions it ended, or why it was refused.
 */
export interface BackchannelLogoutEvent extends FlowEventBase {
  readonly type: 'backchannel_logout'
  readonly outcome: 'ended' | 'refused'
  readonly token: Fingerprint
  /** The server's login session the token names (`sid`), when it names one. */
  readonly sid: Fingerprint | undefined
  /** Sessions of this app it ended. */
  readonly sessions: number
  readonly error: FlowEventError | undefined
}

/** Every event `onEvent` receives; switch on `type`. */
export type FlowEvent = AuthorizationRequestEvent | CallbackEvent | TokenEvent | ResourceEvent | RevocationEvent | EndSessionEvent | BackchannelLogoutEvent

/**
 * The `onEvent` option: called synchronously, in the asynchronous context of the call that took the
 * step (so `AsyncLocalStorage` ties an event to the request that caused it). What it throws is
 * ignored: observing never changes the flow.
 */
export type FlowEventListener = (event: FlowEvent) => void
