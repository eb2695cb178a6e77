/**
 * The login → consent journey of one authorization request as an explicit state machine
 * (STYLE rule 7): `created → authenticated → consented → code_issued`, or `authenticated → denied`.
 * Each transition is a compare-and-set in the store, so a double-submitted form or a replayed
 * resume link moves the state at most once.
 */
import type { AuthorizationRequest } from './authorize.js'
import type { InteractionRecord, InteractionStore, LoginSessionRecord } from './store.js'

/** The user proved who they are, in the login session `sessionHash`. */
export const authenticateInteraction = (
  store: InteractionStore,
  id: string,
  user: { userId: string; authTime: number; sessionHash: string },
  now: number,
) => store.transitionInteraction(id, ['created'], { state: 'authenticated', ...user }, now)

/** The user approved, or had approved before, or the client is first-party. */
export const consentInteraction = (store: InteractionStore, id: string, now: number) =>
  store.transitionInteraction(id, ['authenticated'], { state: 'consented' }, now)

/** The user said no: the client gets `access_denied`. */
export const denyInteraction = (store: InteractionStore, id: string, now: number) =>
  store.transitionInteraction(id, ['authenticated'], { state: 'denied' }, now)

/** The authorization endpoint takes the finished interaction to mint its code: once. */
export const completeInteraction = (store: InteractionStore, id: string, now: number) =>
  store.transitionInteraction(id, ['consented'], { state: 'code_issued' }, now)

/** The authorization request an interaction carries. */
export function requestOf(interaction: InteractionRecord): AuthorizationRequest {
  return JSON.parse(interaction.request) as AuthorizationRequest
}

/**
 * SECURITY.md 30: from `authenticated` until its code is issued, an interaction lives only as long
 * as the login session it was authenticated in: after sign-out, or a sign-in as someone else in
 * that browser, its consent and its code are refused.
 */
export function heldBySession(interaction: InteractionRecord, session: LoginSessionRecord | undefined): boolean {
  if (interaction.state !== 'authenticated' && interaction.state !== 'consented') return true
  return session !== undefined && interaction.sessionHash === session.idHash && interaction.userId === session.userId
}
