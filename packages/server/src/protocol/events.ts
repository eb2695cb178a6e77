/**
 * Security events: what the protocol steps saw that an operator may want to alert on (a replayed
 * code, a reused refresh token, a failed client authentication) or keep as an audit trail (sign-in,
 * consent, codes issued and redeemed). A step emits through the `EventSink` in its dependencies;
 * the HTTP layer (`http/audit.ts`) adds the caller's address and the request id, logs one line per
 * event, counts the metrics and hands it to the app's `onEvent` hook.
 *
 * An event names who was involved (client and user ids, a grant id) and never carries a secret:
 * no code, token, password or username.
 */

/** Why a client's authentication failed (`client.auth_failed`). */
export type ClientAuthFailure =
  /** No registered client has the presented id. */
  | 'unknown_client'
  /** The secret was wrong, missing, or presented for a public client. */
  | 'bad_credentials'
  /** No credentials, or an unsupported scheme. */
  | 'no_credentials'
  /** Past the failure limit (SECURITY.md 26): refused before counting as a check. */
  | 'throttled'

/** Every security event; `clientId` and `userId` are null where the step does not know them. */
export type SecurityEvent =
  /** A password sign-in passed (`clientId`: the client of the interaction, null on the account page). */
  | { type: 'login.succeeded'; clientId: string | null; userId: string }
  /** Unknown user or wrong password (deliberately not told apart), or a sign-in refused by the throttles. */
  | { type: 'login.failed' | 'login.throttled'; clientId: string | null; userId: null }
  | { type: 'consent.granted' | 'consent.denied'; clientId: string; userId: string }
  /** RFC 6749 §4.1.2: a code minted; redeemed once; presented again (its grant then revoked). */
  | { type: 'code.issued' | 'code.redeemed' | 'code.replayed'; clientId: string; userId: string; grantId: string }
  /** RFC 9700 §4.14.2: a refresh token rotated; or presented again after rotation (its family revoked). */
  | { type: 'refresh.rotated' | 'refresh.reused'; clientId: string; userId: string; grantId: string }
  /** RFC 7009: a client revoked one of its live tokens (a refresh token takes its grant with it). */
  | { type: 'token.revoked'; clientId: string; userId: string; grantId: string; tokenType: 'refresh_token' | 'access_token' }
  | { type: 'client.auth_failed'; clientId: string | null; userId: null; reason: ClientAuthFailure }
  /** The user removed an app's access on the account page: its consent deleted, its grants revoked. */
  | { type: 'access.removed'; clientId: string; userId: string }
  /** A browser signed out (`userId`: who was signed in, if anyone). */
  | { type: 'logout'; clientId: null; userId: string | null }

export type SecurityEventType = SecurityEvent['type']

/** Every event type, in a stable order (for documentation and tests). */
export const SECURITY_EVENT_TYPES: readonly SecurityEventType[] = Object.freeze([
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'consent.granted',
  'consent.denied',
  'code.issued',
  'code.redeemed',
  'code.replayed',
  'refresh.rotated',
  'refresh.reused',
  'token.revoked',
  'client.auth_failed',
  'access.removed',
  'logout',
] as const)

/** Where a step's events go. `emit` must not throw, and the step never waits for it. */
export interface EventSink {
  emit(event: SecurityEvent): void
}

/** The sink of steps run without an observer (unit tests, the CLI). */
export const NO_EVENTS: EventSink = Object.freeze({ emit: () => {} })
