/**
 * The login and consent pages of a pending interaction. They turn the sign-in journey's results
 * (`protocol/journey.ts`) into pages and redirects: the journey authenticates the user and records
 * the user's decision; the pages never mint codes, and hand back to `/authorize/resume/:id` when done.
 */
import { isBrowserClient } from '../protocol/clients.js'
import { knownResource } from '../protocol/resources.js'
import { returnsTo } from '../protocol/registration.js'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { afterLogin, answerConsent, journeyDeps, nextStep, openInteraction, supportedAcr, viewInteraction, type OpenInteraction } from '../protocol/journey.js'
import { passkeyRequired } from '../protocol/passkeys-assurance.js'
import type { Params } from '../protocol/params.js'
import { presentedBrowser } from './cookies.js'
import { checkedForm, signIn, signInWithPasskey, type SignInOutcome } from './forms.js'
import { pageText, type PageText } from './messages.js'
import type { Pages } from './pages.js'
import { passkeySignInView } from './passkeys.js'

const EXPIRED = pageText('interaction.expired')
const FORBIDDEN = pageText('interaction.forbidden')
/** The sign-in was good, but the request asks for a passkey (`acr_values`). */
const STEP_UP = pageText('login.passkeyRequired')
export const SIGNED_OUT = pageText('interaction.signedOut')

export const interactionRoutes: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const journey = journeyDeps(services)
  const interactionUrl = (id: string) => `${services.basePath}/interaction/${id}`
  const resumeUrl = (id: string) => `${services.basePath}/authorize/resume/${id}`

  /** The interaction when this browser may use it; otherwise its error page is sent. */
  async function load(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<OpenInteraction | undefined> {
    const open = await openInteraction(journey, { id: request.params.id, browser: presentedBrowser(request, services), now: services.now() })
    switch (open.kind) {
      case 'open':
        return open
      case 'missing':
      case 'client_removed':
        pages.sendError(reply, 400, EXPIRED)
        return undefined
      case 'other_browser':
        pages.sendError(reply, 403, FORBIDDEN)
        return undefined
      case 'signed_out':
        pages.sendError(reply, 403, SIGNED_OUT)
        return undefined
    }
  }

  /** RFC 6749 §10.12: the form must carry this interaction's token (`checkedForm`). */
  function checkForm(request: FastifyRequest, reply: FastifyReply, open: OpenInteraction): Params | undefined {
    const form = checkedForm(request, services, open.interaction.csrfToken)
    if (form === undefined) pages.sendError(reply, 403, FORBIDDEN, { uiLocales: open.request.uiLocales })
    return form
  }

  /** The pages of a sign-in request speak the language it asked for (`ui_locales`), and let its forms lead to its client. */
  const contextOf = ({ request }: OpenInteraction) => ({ uiLocales: request.uiLocales, redirectUri: request.redirectUri })

  async function showLogin(request: FastifyRequest, reply: FastifyReply, open: OpenInteraction, username: string, error?: PageText, status = 200) {
    const { interaction, client } = open
    // The request's acr_values may ask for more than a password (step-up): then the passkey alone.
    const required = passkeyRequired(open.request.acrValues, supportedAcr(journey))
    const passkey = await passkeySignInView(request, reply, services, `${interactionUrl(interaction.id)}/passkey`, required)
    return pages.login(
      reply,
      { clientName: client.name, action: `${interactionUrl(interaction.id)}/login`, csrf: interaction.csrfToken, username, error, passkey },
      contextOf(open),
      status,
    )
  }

  /** After a sign-in on the interaction's login page (password or passkey): on to consent or resume, or the page again. */
  async function afterSignIn(request: FastifyRequest, reply: FastifyReply, open: OpenInteraction, outcome: SignInOutcome) {
    const { interaction } = open
    if (!('signedIn' in outcome)) return showLogin(request, reply, open, outcome.username, outcome.error, outcome.status)
    const result = await afterLogin(journey, { open, session: outcome.signedIn.session, now: services.now() })
    switch (result.kind) {
      case 'stale':
        return pages.sendError(reply, 400, EXPIRED, { uiLocales: open.request.uiLocales })
      case 'step_up':
        return showLogin(request, reply, open, '', STEP_UP, 403)
      case 'consent_needed':
        return reply.redirect(interactionUrl(interaction.id), 303)
      case 'consented':
        return reply.redirect(resumeUrl(interaction.id), 303)
    }
  }

  app.get<{ Params: { id: string } }>('/interaction/:id', { config: { errors: 'page' } }, async (request, reply) => {
    const open = await load(request, reply)
    if (open === undefined) return reply
    const { interaction, client, request: authzRequest } = open
    const view = await viewInteraction(journey, open)
    switch (view.kind) {
      case 'login':
        return showLogin(request, reply, open, view.usernameHint ?? '')
      case 'consent':
        return pages.consent(
          reply,
          {
            clientName: client.name,
            userName: view.userName,
            action: `${interactionUrl(interaction.id)}/consent`,
            csrf: interaction.csrfToken,
            scopes: authzRequest.scopes,
            inBrowser: isBrowserClient(client),
            resources: (authzRequest.resources ?? []).map((uri) => ({ uri, name: knownResource(services.config, uri)?.name ?? uri })),
            registeredByItself: client.registeredDynamically ? { returnsTo: returnsTo(authzRequest.redirectUri) } : undefined,
          },
          contextOf(open),
        )
      case 'resume':
        return reply.redirect(resumeUrl(interaction.id), 303)
      case 'done':
        return pages.message(reply, 200, { title: pageText('interaction.doneTitle'), message: pageText('interaction.done') }, { uiLocales: authzRequest.uiLocales })
    }
  })

  app.post<{ Params: { id: string } }>('/interaction/:id/login', { config: { errors: 'page' } }, async (request, reply) => {
    const open = await load(request, reply)
    if (open === undefined) return reply
    const { interaction } = open
    if (nextStep(interaction.state) !== 'login') return reply.redirect(interactionUrl(interaction.id), 303)
    const form = checkForm(request, reply, open)
    if (form === undefined) return reply

    return afterSignIn(request, reply, open, await signIn(request, reply, services, form, open.client.clientId))
  })

  /** A sign-in with a passkey: the form the passkey script posts (`interaction/passkeys.ts`). */
  app.post<{ Params: { id: string } }>('/interaction/:id/passkey', { config: { errors: 'page' } }, async (request, reply) => {
    const open = await load(request, reply)
    if (open === undefined) return reply
    const { interaction } = open
    if (nextStep(interaction.state) !== 'login' || services.passkeys === undefined) return reply.redirect(interactionUrl(interaction.id), 303)
    const form = checkForm(request, reply, open)
    if (form === undefined) return reply
    return afterSignIn(request, reply, open, await signInWithPasskey(request, reply, services, form, open.client.clientId))
  })

  app.post<{ Params: { id: string } }>('/interaction/:id/consent', { config: { errors: 'page' } }, async (request, reply) => {
    const open = await load(request, reply)
    if (open === undefined) return reply
    const { interaction } = open
    if (nextStep(interaction.state) !== 'consent') return reply.redirect(interactionUrl(interaction.id), 303)
    const form = checkForm(request, reply, open)
    if (form === undefined) return reply
    let answer: string | undefined
    try {
      answer = form.single('decision')
    } catch {
      answer = undefined
    }
    if (answer !== 'approve' && answer !== 'deny') return pages.sendError(reply, 400, pageText('consent.chooseDecision'), { uiLocales: open.request.uiLocales })
    // Approved, denied, or already answered (a double submit): resume sorts out which counted.
    const answered = await answerConsent(journey, { open, answer, now: services.now() })
    if (answered.kind !== 'stale' && answered.interaction.userId !== null) {
      const type = answered.kind === 'approved' ? 'consent.granted' : 'consent.denied'
      services.eventsOf(request).emit({ type, clientId: answered.interaction.clientId, userId: answered.interaction.userId })
    }
    return reply.redirect(resumeUrl(interaction.id), 303)
  })
}
