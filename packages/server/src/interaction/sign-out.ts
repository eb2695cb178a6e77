/**
 * Signing a browser out, the same way wherever it is asked for (the account page, RP-initiated
 * logout): the login sessions and interactions go (`endLoginSession`), the `logout` event names
 * who was signed in and which client asked, and the back-channel logout tokens the sign-out
 * queued are delivered at once (`protocol/backchannel-logout.ts`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import type { SignedOut } from '../protocol/journey.js'
import { endLoginSession } from './cookies.js'

export async function signOutBrowser(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  who: { userId: string | null; clientId: string | null },
): Promise<SignedOut> {
  const signedOut = await endLoginSession(request, reply, services)
  services.eventsOf(request).emit({ type: 'logout', clientId: who.clientId, userId: who.userId })
  if (signedOut.logoutsDropped > 0) {
    request.log.warn({ dropped: signedOut.logoutsDropped }, 'back-channel logout queue full: logouts dropped')
  }
  if (signedOut.logoutsQueued > 0) services.logouts.kick()
  return signedOut
}
