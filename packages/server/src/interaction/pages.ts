/**
 * Renders the browser-facing pages with the headers every one of them needs (SECURITY.md 6):
 * no framing, no caching, no referrer, and a CSP without script.
 */
import type { FastifyReply } from 'fastify'
import { Eta } from 'eta'
import { TEMPLATES } from './templates.js'

export interface LoginView {
  /** The client the sign-in continues to; undefined for the account page's own sign-in. */
  clientName: string | undefined
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

/** A time as `<time datetime>` shows it: ISO 8601 for machines, a plain UTC date and time for people. */
export interface TimeView {
  iso: string
  text: string
}

const PEOPLE_TIME = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })

export function timeView(seconds: number): TimeView {
  const date = new Date(seconds * 1000)
  return { iso: date.toISOString().replace(/\.000Z$/, 'Z'), text: `${PEOPLE_TIME.format(date)} UTC` }
}

export interface AccountAppView {
  clientName: string
  scopes: { name: string; description: string }[]
  since: TimeView
  /** False for an app let in without asking (first-party): the page says it gets access again at its next sign-in. */
  consented: boolean
  lastIssuedAt: TimeView | undefined
  /** The form that asks to remove this app's access. */
  removeAction: string
}

export interface AccountView {
  userName: string
  notice: string | undefined
  csrf: string
  apps: AccountAppView[]
  signOutAction: string
}

export interface RemoveAccessView {
  app: { clientName: string; scopes: { name: string; description: string }[] }
  action: string
  csrf: string
  /** Back to the account page. */
  cancel: string
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

  /** @param redirectUri the client's, so that the CSP lets the form's redirect chain reach it (none for the account page) */
  login(reply: FastifyReply, view: LoginView, redirectUri: string | undefined, status = 200): FastifyReply {
    return this.#send(reply, status, 'login', { title: 'Sign in', ...view }, redirectUri)
  }

  consent(reply: FastifyReply, view: ConsentView, redirectUri: string): FastifyReply {
    return this.#send(reply, 200, 'consent', { title: 'Allow access', ...view }, redirectUri)
  }

  account(reply: FastifyReply, view: AccountView): FastifyReply {
    return this.#send(reply, 200, 'account', { title: 'Your account', ...view })
  }

  removeAccess(reply: FastifyReply, view: RemoveAccessView): FastifyReply {
    return this.#send(reply, 200, 'removeAccess', { title: 'Remove access?', ...view })
  }

  /** @param link where to go next, e.g. back to the account page */
  message(reply: FastifyReply, status: number, title: string, message: string, link?: { href: string; text: string }): FastifyReply {
    return this.#send(reply, status, 'message', { title, message, isError: status >= 400, link })
  }

  sendError(reply: FastifyReply, status: number, message: string, link?: { href: string; text: string }): FastifyReply {
    const title = status >= 500 ? 'Something went wrong' : status === 429 ? 'Too many attempts' : 'This request cannot be completed'
    return this.message(reply, status, title, message, link)
  }

  home(reply: FastifyReply, issuer: string): FastifyReply {
    return this.#send(reply, 200, 'home', { title: 'authcode', issuer })
  }
}
