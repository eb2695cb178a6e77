/**
 * The login → consent journey of one authorization request as an explicit state machine
 * (STYLE rule 7): `created → authenticated → consented → code_issued`, or `authenticated → denied`.
 * Each transition is a compare-and-set in the store, so a double-submitted form or a replayed
 * resume link moves the state at most once.
 */
import type { AuthorizationRequest } from './authorize.js'
import type { InteractionRecord, InteractionStore } from './store.js'

/** The user proved who they are. */
export const authenticateInteraction = (store: InteractionStore, id: string, userId: string, authTime: number, now: number) =>
  store.transitionInteraction(id, ['created'], { state: 'authenticated', userId, authTime }, now)

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
