/**
 * Renders the browser-facing pages with the headers every one of them needs (SECURITY.md 6):
 * no framing, no caching, no referrer, and a CSP without script.
 */
import type { FastifyReply } from 'fastify'
import { Eta } from 'eta'
import { TEMPLATES } from './templates.js'

export interface LoginView {
  clientName: string
  action: string
  csrf: string
  username: string
  error: string | undefined
}

export interface ConsentView {
  clientName: string
  userName: string | undefined
  action: string
  csrf: string
  scopes: { name: string; description: string }[]
}

/** Where a form's submission may end up: this server, then (after its redirects) the client. */
function formActionSource(redirectUri: string | undefined): string {
  if (redirectUri === undefined) return ''
  const url = new URL(redirectUri)
  // An origin for web redirect URIs; the scheme alone for private-use schemes of native apps.
  return url.origin === 'null' ? ` ${url.protocol}` : ` ${url.origin}`
}

export class Pages {
  readonly #eta = new Eta({ autoEscape: true, autoTrim: false, cache: true })
  readonly #basePath: string

  constructor(basePath: string) {
    this.#basePath = basePath
    for (const [name, template] of Object.entries(TEMPLATES)) this.#eta.loadTemplate(`@${name}`, template)
  }

  #send(reply: FastifyReply, status: number, template: keyof typeof TEMPLATES, data: object, redirectUri?: string): FastifyReply {
    const html = this.#eta.render(`@${template}`, { basePath: this.#basePath, ...data })
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('x-frame-options', 'DENY')
      .header(
        'content-security-policy',
        `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'${formActionSource(redirectUri)}; frame-ancestors 'none'; base-uri 'none'`,
      )
      .send(html)
  }

  /** @param redirectUri the client's, so that the CSP lets the form's redirect chain reach it */
  login(reply: FastifyReply, view: LoginView, redirectUri: string, status = 200): FastifyReply {
    return this.#send(reply, status, 'login', { title: 'Sign in', ...view }, redirectUri)
  }

  consent(reply: FastifyReply, view: ConsentView, redirectUri: string): FastifyReply {
    return this.#send(reply, 200, 'consent', { title: 'Allow access', ...view }, redirectUri)
  }

  message(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
    return this.#send(reply, status, 'message', { title, message, isError: status >= 400 })
  }

  sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
    const title = status >= 500 ? 'Something went wrong' : status === 429 ? 'Too many attempts' : 'This request cannot be completed'
    return this.message(reply, status, title, message)
  }

  home(reply: FastifyReply, issuer: string): FastifyReply {
    return this.#send(reply, 200, 'home', { title: 'authcode', issuer })
  }
}
