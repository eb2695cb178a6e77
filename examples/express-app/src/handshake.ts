/**
 * The demo app's handshake log: every flow event of the client library (`onEvent`), tied to the
 * browser whose request caused it, kept per handshake, and shown as a sequence diagram on
 * `/handshake` (linked from the dashboard and the home page) and on the page of a failed login.
 *
 * Events are tied to a browser with an opaque random id in an HttpOnly cookie (the server keeps
 * only its SHA-256) and `AsyncLocalStorage` around each request: the client library calls
 * `onEvent` in the asynchronous context of the call that took the step. A browser's log holds its
 * last few handshakes; each starts with an authorization request, and a later event joins the
 * handshake of the session it names. The events hold fingerprints, never a secret, so the log and
 * the page can be shown and shared as they are.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, randomBytes } from 'node:crypto'
import type { Request as ExpressRequest, RequestHandler } from 'express'
import { AuthcodeClientError, AuthorizationError, errorPage, parseCookies, StoreError, type FlowEvent, type FlowEventListener } from '@authcode/client'
import { describeHandshake, renderHandshakeSvg, stepText, type RecordedEvent } from './handshake-svg.js'
import { render } from './views.js'

/** The cookie that names the browser's handshake log (random, opaque, not a session). */
export const HANDSHAKE_COOKIE = 'authcode_demo_handshake'
const COOKIE_VALUE = /^[\w-]{43}$/
const MAX_BROWSERS = 1000
const HANDSHAKES_PER_BROWSER = 3
const EVENTS_PER_HANDSHAKE = 80

interface Handshake {
  readonly entries: RecordedEvent[]
  /** The session fingerprint, once the code exchange opened one. */
  session: string | undefined
  /** The Auth Server's login session (its `sid`, fingerprinted) the ID token named: a back-channel logout names it too. */
  sid: string | undefined
  dropped: number
}

interface RequestContext {
  readonly browser: string
  readonly route: string
  /** Set when this request was a callback that belongs to no handshake (a used or stale link). */
  staleCallback: boolean
}

const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } as const

export class HandshakeRecorder {
  readonly #context = new AsyncLocalStorage<RequestContext>()
  /** By SHA-256 of the cookie value; oldest browser first (re-inserted on use). */
  readonly #browsers = new Map<string, Handshake[]>()
  readonly #secure: boolean

  constructor(options: { secure: boolean }) {
    this.#secure = options.secure
  }

  /** Names the browser (setting the cookie on its first visit) and runs the rest of the request in its context. */
  readonly middleware: RequestHandler = (req, res, next) => {
    const sent = parseCookies(req.headers.cookie ?? null).get(HANDSHAKE_COOKIE)
    let id = sent !== undefined && COOKIE_VALUE.test(sent) ? sent : undefined
    if (id === undefined) {
      id = randomBytes(32).toString('base64url')
      res.append('set-cookie', `${HANDSHAKE_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400${this.#secure ? '; Secure' : ''}`)
    }
    this.#context.run({ browser: createHash('sha256').update(id).digest('base64url'), route: `${req.method} ${req.path}`, staleCallback: false }, next)
  }

  /**
   * The client's `onEvent`. A back-channel logout comes from the Auth Server, not a browser: it
   * joins the handshakes of the login session it names, whichever browser they belong to. Other
   * events outside a browser's request (none in this app) are not kept.
   */
  readonly onEvent: FlowEventListener = (event) => {
    if (event.type === 'backchannel_logout') {
      this.#recordLogout({ event, route: 'POST /backchannel-logout' }, event.sid)
      return
    }
    const context = this.#context.getStore()
    if (context !== undefined) this.#record(context, { event, route: context.route })
  }

  #recordLogout(entry: RecordedEvent, sid: string | undefined): void {
    if (sid === undefined) return
    for (const logs of this.#browsers.values()) {
      for (const handshake of logs) {
        if (handshake.sid === sid && handshake.entries.length < EVENTS_PER_HANDSHAKE) handshake.entries.push(entry)
      }
    }
  }

  #record(context: RequestContext, entry: RecordedEvent): void {
    const { browser } = context
    const logs = this.#browsers.get(browser) ?? []
    this.#browsers.delete(browser)
    this.#browsers.set(browser, logs)
    if (this.#browsers.size > MAX_BROWSERS) this.#browsers.delete(this.#browsers.keys().next().value as string)
    const latest = logs.at(-1)
    // A callback that matched no login attempt while no login is under way (the link reopened from
    // the history, Back after a denial): it belongs to no handshake, and the last one stays shown.
    if (entry.event.type === 'callback' && entry.event.checks.attempt === 'failed' && (latest === undefined || latest.entries.some((e) => e.event.type === 'callback'))) {
      context.staleCallback = true
      return
    }
    const target = this.#target(logs, entry.event)
    if (target === undefined) return
    if (target.entries.length >= EVENTS_PER_HANDSHAKE) {
      target.dropped++
      return
    }
    target.entries.push(entry)
    if (entry.event.type === 'token' && entry.event.grant === 'authorization_code' && entry.event.response !== undefined) {
      target.session = entry.event.session
      target.sid = entry.event.response.sid
    }
  }

  /** The handshake an event belongs to: a new one for a new login, else the one of its session, else the latest. */
  #target(logs: Handshake[], event: FlowEvent): Handshake | undefined {
    const fresh = (): Handshake => {
      const handshake: Handshake = { entries: [], session: undefined, sid: undefined, dropped: 0 }
      logs.push(handshake)
      if (logs.length > HANDSHAKES_PER_BROWSER) logs.shift()
      return handshake
    }
    if (event.type === 'authorization_request') return fresh()
    const latest = logs.at(-1)
    if (event.type === 'callback') return latest !== undefined && !latest.entries.some((e) => e.event.type === 'callback') ? latest : fresh()
    if (event.type === 'token' && event.grant === 'authorization_code') return latest ?? fresh()
    if (event.type === 'backchannel_logout') return undefined
    // Refresh, resource call, revocation, end of the session: the handshake of that session (a
    // revocation at /callback ends the browser's previous session, not the one being opened).
    return logs.findLast((h) => h.session === event.session)
  }

  /** The latest handshake of the browser behind the current request. */
  #latest(): Handshake | undefined {
    const context = this.#context.getStore()
    return context === undefined ? undefined : this.#browsers.get(context.browser)?.at(-1)
  }

  /** The page data of the latest handshake (diagram, text steps, summary). */
  #pageData(title: string): Record<string, unknown> & { title: string } {
    const handshake = this.#latest()
    if (handshake === undefined || handshake.entries.length === 0) return { title, diagram: undefined, steps: [], summary: 'No handshake recorded in this browser yet.', outcome: 'none' }
    const view = describeHandshake(handshake.entries)
    return {
      title,
      diagram: renderHandshakeSvg(view),
      steps: view.steps.map((s) => ({ text: stepText(s, view.startedAt), failed: s.failure !== undefined })),
      summary: view.summary,
      outcome: view.outcome,
      dropped: handshake.dropped,
    }
  }

  /** `GET /handshake`: the latest handshake of this browser, whether or not it is signed in. */
  readonly page: RequestHandler = (req: ExpressRequest, res) => {
    res.setHeader('cache-control', 'no-store')
    res.send(render('handshake', { ...this.#pageData('The handshake'), signedIn: req.auth !== undefined, failure: undefined }))
  }

  /**
   * `renderError` of the auth handler: a failed login shows where its handshake stopped, and why; a
   * used or stale sign-in link says so (the browser is not signed in: a signed-in one never gets
   * here), leaving the last handshake as it was. Failures of the app's side (a store that is down,
   * the server unreachable) are logged: code and message, never a secret.
   */
  readonly renderError = (error: unknown, request: Request): Response => {
    const status = errorPage(error).status
    if (status >= 500) console.error(`demo app: sign-in failed: ${error instanceof AuthcodeClientError ? `${error.code}: ${error.message}` : 'unexpected error'}`)
    if (this.#context.getStore()?.staleCallback === true) {
      // Back after "Deny" brings the server's denial again: say what it was, not that a link broke.
      const denied = new URL(request.url).searchParams.get('error') === 'access_denied'
      const [title, text] = denied
        ? ['Sign-in cancelled', 'Access was not granted, so you are not signed in. (This page was opened again; nothing was sent to the server.)']
        : ['This sign-in link was already used', 'This sign-in link was already used or has expired, and you are not signed in. Log in again to continue.']
      return new Response(render('page', { title, text, isError: false, login: true, handshake: true }), { status, headers: HTML_HEADERS })
    }
    if (error instanceof StoreError) {
      const text = `Signing in is not possible right now: this app's session store does not answer (${error.code}). Try again in a moment.`
      return new Response(render('page', { title: 'Sign-in unavailable', text, isError: true, login: true, handshake: false }), { status, headers: HTML_HEADERS })
    }
    const cancelled = error instanceof AuthorizationError && error.error === 'access_denied'
    let failure = 'Something went wrong while signing you in.'
    if (error instanceof AuthorizationError) {
      failure = `The authorization server answered ${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}.`
    } else if (error instanceof AuthcodeClientError) {
      failure = `${error.code}: ${error.message}`
    }
    const body = render('handshake', { ...this.#pageData(cancelled ? 'Sign-in cancelled' : 'Sign-in failed'), signedIn: false, failure })
    return new Response(body, { status, headers: HTML_HEADERS })
  }
}
