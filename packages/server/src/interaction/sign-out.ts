/**
 * Signing a browser out, the same way wherever it is asked for (the account page, RP-initiated
 * logout, the account page's "sign out everywhere"): the login sessions and interactions go
 * (`endLoginSession`), the `logout` event names who was signed in and which client asked, and the
 * back-channel logout tokens the sign-out queued are delivered at once
 * (`protocol/backchannel-logout.ts`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { journeyDeps, type SignedOut } from '../protocol/journey.js'
import { signOutEverywhere } from '../protocol/self-service.js'
import { clearLoginSession, endLoginSession, presentedBrowser } from './cookies.js'

export async function signOutBrowser(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  who: { userId: string | null; clientId: string | null },
): Promise<SignedOut> {
  const signedOut = await endLoginSession(request, reply, services)
  services.eventsOf(request).emit({ type: 'logout', clientId: who.clientId, userId: who.userId })
  deliverLogouts(request, services, signedOut)
  return signedOut
}

/**
 * "Sign out everywhere" from the account page: this browser is signed out as above, and every
 * other login session of `userId` ends too; one `logout` event for each session that ended.
 */
export async function signOutEverywhereFrom(request: FastifyRequest, reply: FastifyReply, services: Services, userId: string): Promise<SignedOut> {
  const signedOut = await signOutEverywhere(journeyDeps(services), userId, presentedBrowser(request, services), services.now())
  clearLoginSession(reply, services)
  const events = services.eventsOf(request)
  for (const session of signedOut.sessions) events.emit({ type: 'logout', clientId: null, userId: session.userId })
  deliverLogouts(request, services, signedOut)
  return signedOut
}

/** The back-channel logouts a sign-out queued go out at once; a full queue is worth a warning. */
function deliverLogouts(request: FastifyRequest, services: Services, signedOut: SignedOut): void {
  if (signedOut.logoutsDropped > 0) {
    request.log.warn({ dropped: signedOut.logoutsDropped }, 'back-channel logout queue full: logouts dropped')
  }
  if (signedOut.logoutsQueued > 0) services.logouts.kick()
}
