/**
 * The login and consent pages of a pending interaction. They authenticate the user and record the
 * user's decision, moving the interaction's state; they never mint codes, and hand back to
 * `/authorize/resume/:id` when done.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { consentNeeded } from '../protocol/authorize.js'
import { authenticateInteraction, consentInteraction, denyInteraction, heldBySession, requestOf } from '../protocol/interaction.js'
import type { Params } from '../protocol/params.js'
import type { ClientRecord, InteractionRecord } from '../protocol/store.js'
import { currentLoginSession, presentedBrowserBinding, startLoginSession } from './cookies.js'
import { checkedForm, signIn } from './forms.js'
import type { Pages } from './pages.js'

const EXPIRED = 'This sign-in request has expired or does not exist. Start again from the application.'
const FORBIDDEN = 'This form was not sent from this sign-in page. Start again from the application.'
export const SIGNED_OUT = 'You signed out, or signed in as someone else, since this sign-in request began. Start again from the application.'

export const interactionRoutes: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const { store, config } = services
  const interactionUrl = (id: string) => `${services.basePath}/interaction/${id}`
  const resumeUrl = (id: string) => `${services.basePath}/authorize/resume/${id}`

  async function load(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
    const interaction = await store.getInteraction(request.params.id, services.now())
    const client = interaction === undefined ? undefined : await store.getClient(interaction.clientId)
    if (interaction === undefined || client === undefined) {
      pages.sendError(reply, 400, EXPIRED)
      return undefined
    }
    if (presentedBrowserBinding(request, services) !== interaction.browserHash) {
      pages.sendError(reply, 403, FORBIDDEN)
      return undefined
    }
    if (!heldBySession(interaction, await currentLoginSession(request, services))) {
      pages.sendError(reply, 403, SIGNED_OUT)
      return undefined
    }
    return { interaction, client }
  }

  /** RFC 6749 §10.12: the form must carry this interaction's token (`checkedForm`). */
  function checkForm(request: FastifyRequest, reply: FastifyReply, interaction: InteractionRecord): Params | undefined {
    const form = checkedForm(request, services, interaction.csrfToken)
    if (form === undefined) pages.sendError(reply, 403, FORBIDDEN)
    return form
  }

  function showLogin(reply: FastifyReply, interaction: InteractionRecord, client: ClientRecord, username: string, error?: string, status = 200) {
    return pages.login(
      reply,
      { clientName: client.name, action: `${interactionUrl(interaction.id)}/login`, csrf: interaction.csrfToken, username, error },
      requestOf(interaction).redirectUri,
      status,
    )
  }

  /** After authentication: ask for consent, or go straight back when none is needed. */
  async function afterLogin(reply: FastifyReply, interaction: InteractionRecord, client: ClientRecord) {
    const request = requestOf(interaction)
    const consent = interaction.userId === null ? undefined : await store.getConsent(interaction.userId, client.clientId)
    if (consentNeeded({ request, client, consent, skipConsentForFirstParty: config.consent.skipForFirstParty })) {
      return reply.redirect(interactionUrl(interaction.id), 303)
    }
    await consentInteraction(store, interaction.id, services.now())
    return reply.redirect(resumeUrl(interaction.id), 303)
  }

  app.get<{ Params: { id: string } }>('/interaction/:id', { config: { errors: 'page' } }, async (request, reply) => {
    const loaded = await load(request, reply)
    if (loaded === undefined) return reply
    const { interaction, client } = loaded
    const authzRequest = requestOf(interaction)
    switch (interaction.state) {
      case 'created': {
        const session = await currentLoginSession(request, services)
        const hinted = authzRequest.loginHint ?? (session === undefined ? undefined : (await store.getUserById(session.userId))?.username)
        return showLogin(reply, interaction, client, hinted ?? '')
      }
      case 'authenticated': {
        const user = interaction.userId === null ? undefined : await store.getUserById(interaction.userId)
        return pages.consent(
          reply,
          {
            clientName: client.name,
            userName: user?.name ?? user?.username,
            action: `${interactionUrl(interaction.id)}/consent`,
            csrf: interaction.csrfToken,
            scopes: authzRequest.scopes.map((name) => ({ name, description: config.scopes[name] ?? name })),
          },
          authzRequest.redirectUri,
        )
      }
      case 'consented':
      case 'denied':
        return reply.redirect(resumeUrl(interaction.id), 303)
      case 'code_issued':
        return pages.message(reply, 200, 'Done', 'This sign-in is complete. You can return to the application.')
    }
  })

  app.post<{ Params: { id: string } }>('/interaction/:id/login', { config: { errors: 'page' } }, async (request, reply) => {
    const loaded = await load(request, reply)
    if (loaded === undefined) return reply
    const { interaction, client } = loaded
    if (interaction.state !== 'created') return reply.redirect(interactionUrl(interaction.id), 303)
    const form = checkForm(request, reply, interaction)
    if (form === undefined) return reply

    const outcome = await signIn(request, reply, services, form)
    if (!('user' in outcome)) return showLogin(reply, interaction, client, outcome.username, outcome.error, outcome.status)
    const { user } = outcome
    const now = services.now()

    const sessionHash = await startLoginSession(request, reply, services, user, now)
    const authenticated = await authenticateInteraction(store, interaction.id, { userId: user.id, authTime: now, sessionHash }, now)
    if (authenticated === undefined) return pages.sendError(reply, 400, EXPIRED)
    return afterLogin(reply, authenticated, client)
  })

  app.post<{ Params: { id: string } }>('/interaction/:id/consent', { config: { errors: 'page' } }, async (request, reply) => {
    const loaded = await load(request, reply)
    if (loaded === undefined) return reply
    const { interaction } = loaded
    if (interaction.state !== 'authenticated' || interaction.userId === null) {
      return reply.redirect(interactionUrl(interaction.id), 303)
    }
    const form = checkForm(request, reply, interaction)
    if (form === undefined) return reply
    let decision: string | undefined
    try {
      decision = form.single('decision')
    } catch {
      decision = undefined
    }
    const now = services.now()
    if (decision !== 'approve' && decision !== 'deny') return pages.sendError(reply, 400, 'Choose Allow or Deny.')
    const moved = decision === 'approve' ? await consentInteraction(store, interaction.id, now) : await denyInteraction(store, interaction.id, now)
    // Remembered only when this decision is the one that counted (not a late or concurrent second answer).
    if (moved !== undefined && decision === 'approve') {
      await store.saveConsent(interaction.userId, interaction.clientId, requestOf(interaction).scopes, now)
    }
    return reply.redirect(resumeUrl(interaction.id), 303)
  })
}
