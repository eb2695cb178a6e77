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

import type { PasskeyRefusal } from './passkeys.js'

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

/**
 * Why a request to the admin API was refused before anything was read (`admin.auth_failed`): no
 * `Authorization: Bearer` token (none, another scheme, or not a token), an unknown or revoked one,
 * or too many of those from the caller's address. The reasons of `client.auth_failed`.
 */
export type AdminAuthFailure = Extract<ClientAuthFailure, 'no_credentials' | 'bad_credentials' | 'throttled'>

/** Every security event; `clientId` and `userId` are null where the step does not know them. */
export type SecurityEvent =
  /** A password sign-in passed (`clientId`: the client of the interaction, null on the account page). */
  /** `amr`: how the user signed in (RFC 8176: `pwd`; `hwk` or `swk` with `user` for a passkey). */
  | { type: 'login.succeeded'; clientId: string | null; userId: string; amr: readonly string[] }
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
  /** The user changed her password on the account page: every other login session of hers ended. */
  | { type: 'account.password_changed'; clientId: null; userId: string }
  /** A passkey sign-in or addition refused (`userId`: the passkey's account, when the credential was found). */
  | { type: 'passkey.refused'; clientId: string | null; userId: string | null; reason: PasskeyRefusal }
  /** The user added or removed a passkey on the account page. */
  | { type: 'passkey.added' | 'passkey.removed'; clientId: null; userId: string }
  /**
   * A browser signed out (`userId`: who was signed in, if anyone): on the account page
   * (`clientId` null) or by RP-initiated logout (`clientId`: the client that asked, when known).
   */
  | { type: 'logout'; clientId: string | null; userId: string | null }
  /**
   * RFC 7591: a client registered itself (`registrationTokenId`: the initial access token that
   * allowed it, null in `open` mode); RFC 7592: it replaced or deleted its registration.
   */
  | { type: 'client.registered'; clientId: string; userId: null; registrationTokenId: string | null }
  | { type: 'client.registration_updated' | 'client.registration_deleted'; clientId: string; userId: null }
  | AdminEvent

/** Who made an administrative change: the command line, or the admin API with the named admin token. */
export type AdminActor = 'cli' | `admin_token:${string}`

/**
 * An administrative change (`admin/`): who made it and the ids involved. Never a secret, a
 * password, a hash or a username: a user is named by id. And a refused attempt at the admin API,
 * which has no actor: nobody was recognised.
 */
export type AdminEvent =
  /** The admin API refused a request's admin token (`http/admin-app.ts`); never the token or any part of it. */
  | { type: 'admin.auth_failed'; clientId: null; userId: null; reason: AdminAuthFailure }
  | { type: 'admin.client_created' | 'admin.client_updated' | 'admin.client_removed' | 'admin.client_secret_rotated'; actor: AdminActor; clientId: string; userId: null }
  | {
      type: 'admin.user_created' | 'admin.user_updated' | 'admin.user_password_set' | 'admin.user_disabled' | 'admin.user_enabled' | 'admin.user_removed'
      actor: AdminActor
      clientId: null
      userId: string
    }
  /** `count` users added by one import, all or none. */
  | { type: 'admin.users_imported'; actor: AdminActor; clientId: null; userId: null; count: number }
  /** The new keys, one per algorithm. */
  | { type: 'admin.keys_rotated'; actor: AdminActor; clientId: null; userId: null; kids: string[] }
  | { type: 'admin.key_retired'; actor: AdminActor; clientId: null; userId: null; kid: string }
  | { type: 'admin.grant_revoked'; actor: AdminActor; clientId: string; userId: string; grantId: string }
  | { type: 'admin.token_created' | 'admin.token_revoked'; actor: AdminActor; clientId: null; userId: null; adminTokenId: string }
  /** An initial access token of dynamic client registration (RFC 7591 §1.2) made or revoked. */
  | { type: 'admin.registration_token_created' | 'admin.registration_token_revoked'; actor: AdminActor; clientId: null; userId: null; registrationTokenId: string }

export type AdminEventType = AdminEvent['type']

/** Every administrative event type, in a stable order. */
export const ADMIN_EVENT_TYPES: readonly AdminEventType[] = Object.freeze([
  'admin.auth_failed',
  'admin.client_created',
  'admin.client_updated',
  'admin.client_removed',
  'admin.client_secret_rotated',
  'admin.user_created',
  'admin.user_updated',
  'admin.user_password_set',
  'admin.user_disabled',
  'admin.user_enabled',
  'admin.user_removed',
  'admin.users_imported',
  'admin.keys_rotated',
  'admin.key_retired',
  'admin.grant_revoked',
  'admin.token_created',
  'admin.token_revoked',
  'admin.registration_token_created',
  'admin.registration_token_revoked',
] as const)

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
  'account.password_changed',
  'passkey.refused',
  'passkey.added',
  'passkey.removed',
  'logout',
  'client.registered',
  'client.registration_updated',
  'client.registration_deleted',
  ...ADMIN_EVENT_TYPES,
] as const)

/** Where a step's events go. `emit` must not throw, and the step never waits for it. */
export interface EventSink {
  emit(event: SecurityEvent): void
}

/** The sink of steps run without an observer (unit tests, the CLI). */
export const NO_EVENTS: EventSink = Object.freeze({ emit: () => {} })
