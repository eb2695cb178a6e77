/**
 * Renders the browser-facing pages in the user's language, with the adopter's brand, and with the
 * headers every one of them needs (SECURITY.md 6): no framing, no caching, no referrer, and a CSP
 * without script or inline style.
 *
 * Routes hand over views of raw data (message keys, scope names, times in seconds); this turns
 * them into the template data of the chosen language (README, "Pages: branding and languages").
 */
import { EtaRuntimeError } from 'eta'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ConfigError } from '../config/errors.js'
import type { PagesConfig } from '../config/load.js'
import { queryParams } from '../http/form.js'
import type { OAuthError } from '../protocol/errors.js'
import { readUiLocales } from '../protocol/ui-locales.js'
import { Branding } from './branding.js'
import { chooseLocale } from './locale.js'
import { Catalogs, FALLBACK_LOCALE, pageText, type PageText, type Translator } from './messages.js'
import { Templates, type PageTemplate } from './templates.js'
import { PasskeyScripts } from './passkeys-scripts.js'

export interface LoginView {
  /** The client the sign-in continues to; undefined for the account page's own sign-in. */
  clientName: string | undefined
  action: string
  csrf: string
  username: string
  error: PageText | undefined
  /** The "Sign in with a passkey" form; undefined when passkeys are off. */
  passkey?: PasskeySignInView | undefined
}

/** A sign-in with a passkey: where its form posts, and the WebAuthn options (with their challenge) as JSON. */
export interface PasskeySignInView {
  action: string
  options: string
  /** The request asks for more than a password (`acr_values`): the page offers the passkey alone. */
  required: boolean
}

/** One passkey of the account page; times in seconds since the epoch. */
export interface AccountPasskeyView {
  name: string
  createdAt: number
  lastUsedAt: number | undefined
  /** The form that removes it. */
  removeAction: string
}

/** The account page's passkeys: each one, and the form that adds one (its WebAuthn options as JSON). */
export interface AccountPasskeysView {
  items: readonly AccountPasskeyView[]
  addAction: string
  options: string
  /** Why the last addition or removal failed. */
  error: PageText | undefined
}

export interface ConsentView {
  clientName: string
  userName: string | undefined
  action: string
  csrf: string
  /** The scopes asked for, by name; the page describes each in its language. */
  scopes: readonly string[]
  /** The app runs entirely in the browser (`protocol/clients.ts` `isBrowserClient`): the page says so. */
  inBrowser: boolean
  /** RFC 8707: the resources the access is for (the page names each); none: the server's default audience. */
  resources: readonly { name: string; uri: string }[]
  /**
   * RFC 7591: the app registered itself and nobody vouched for it; the page says so, and where the
   * browser goes back to (the redirect URI's host, or its scheme for an app on the device).
   */
  registeredByItself: { returnsTo: string } | undefined
}

export interface AccountAppView {
  clientName: string
  scopes: readonly string[]
  /** Seconds since the epoch. */
  since: number
  /** False for an app let in without asking (first-party): the page says it gets access again at its next sign-in. */
  consented: boolean
  lastIssuedAt: number | undefined
  /** The form that asks to remove this app's access. */
  removeAction: string
}

/** One browser the user is signed in to (one login session); times in seconds since the epoch. */
export interface AccountBrowserView {
  startedAt: number
  lastSignInAt: number
  /** The browser that shows the page. */
  current: boolean
}

export interface AccountView {
  userName: string
  notice: PageText | undefined
  csrf: string
  apps: readonly AccountAppView[]
  /** The apps signed in to in this login session (OpenID Back-Channel Logout: signing out tells them). */
  signedInApps: readonly { clientName: string }[]
  signOutAction: string
  /** The form that changes the password, and why the last try failed; undefined when the account provider sets no password. */
  password: { action: string; error: PageText | undefined; minLength: number } | undefined
  /** Every browser the user is signed in to, the latest sign-in first. */
  browsers: readonly AccountBrowserView[]
  /** The form that asks to sign out everywhere. */
  signOutEverywhereAction: string
  /** The passkeys section; undefined when passkeys are off. */
  passkeys?: AccountPasskeysView | undefined
}

/** The confirmation of "sign out everywhere". */
export interface SignOutEverywhereView {
  /** How many browsers are signed in. */
  browsers: number
  action: string
  csrf: string
  /** Back to the account page. */
  cancel: string
}

/** The confirmation of an RP-initiated logout that does not prove who asks (OpenID RP-Initiated Logout §2). */
export interface LogoutView {
  /** The client that asks, when the request names one. */
  clientName: string | undefined
  userName: string | undefined
  action: string
  csrf: string
  /** The request's parameters the form carries on, as hidden inputs. */
  fields: readonly { name: string; value: string }[]
}

export interface RemoveAccessView {
  app: { clientName: string; scopes: readonly string[]; consented: boolean }
  action: string
  csrf: string
  /** Back to the account page. */
  cancel: string
}

/** A link on a message page, e.g. back to the account page. */
export interface PageLink {
  href: string
  text: PageText
}

export interface MessageView {
  title: PageText
  message: PageText
  /** Technical detail for the application's developers (an OAuth error description), shown as it is. */
  detail?: string | undefined
  link?: PageLink | undefined
}

/** For the pages of a sign-in request: its `ui_locales`, and its client's redirect URI for the CSP. */
export interface RequestContext {
  /** The request's `ui_locales`; otherwise the page's own `?ui_locales=`, then `Accept-Language`. */
  uiLocales?: readonly string[] | undefined
  /** The client's, so that the CSP lets the form's redirect chain reach it (none for the account page). */
  redirectUri?: string | undefined
}

const scopeViews = (scopes: readonly string[], words: Translator) => scopes.map((name) => ({ name, description: words.scope(name) }))

/** Where a form's submission may end up: this server, then (after its redirects) the client. */
function formActionSource(redirectUri: string | undefined): string {
  if (redirectUri === undefined) return ''
  const url = new URL(redirectUri)
  // An origin for web redirect URIs; the scheme alone for private-use schemes of native apps.
  return url.origin === 'null' ? ` ${url.protocol}` : ` ${url.origin}`
}

/** The page's own `?ui_locales=` (e.g. on `/authorize`); a query that does not parse has none. */
function queryUiLocales(request: FastifyRequest): string[] | undefined {
  try {
    return readUiLocales(queryParams(request).single('ui_locales'))
  } catch {
    return undefined
  }
}

/** The title of an error page, by its status. */
export function errorTitle(status: number): PageText {
  return pageText(status >= 500 ? 'error.titleServer' : status === 429 ? 'error.titleThrottled' : 'error.titleRequest')
}

export class Pages {
  readonly #basePath: string
  readonly #templates: Templates
  readonly #catalogs: Catalogs
  readonly #branding: Branding
  /** The scripts of the passkey forms; undefined when passkeys are off. */
  readonly #scripts: PasskeyScripts | undefined

  /**
   * Reads and checks everything the pages are made of: templates, catalogs, logo and stylesheet.
   * @throws ConfigError naming the file (and line) of the first problem
   */
  constructor(settings: PagesConfig, scopes: Readonly<Record<string, string>>, basePath: string) {
    this.#basePath = basePath
    this.#branding = new Branding(settings, basePath)
    this.#scripts = settings.passkeys ? new PasskeyScripts(basePath) : undefined
    this.#catalogs = new Catalogs({ dir: settings.messages, defaultLocale: settings.defaultLocale, scopes })
    this.#templates = new Templates(settings.templates)
    if (this.#templates.active !== this.#templates.builtIn) this.#tryEveryPage()
  }

  /** Every language a page can be shown in (discovery's `ui_locales_supported`). */
  get locales(): readonly string[] {
    return this.#catalogs.locales
  }

  /** What the operator should hear at start: the adopter's templates in use, and warnings about the brand. */
  get notes(): { overrides: ReadonlyMap<string, string>; warnings: readonly string[] } {
    return { overrides: this.#templates.overrides, warnings: this.#branding.warnings }
  }

  /** Serves the stylesheets and the logo the pages link. */
  serveAssets(app: FastifyInstance): void {
    this.#branding.serve(app)
    this.#scripts?.serve(app)
  }

  /** The words of the page answering `reply`'s request: `ui_locales`, then `Accept-Language`, then the default. */
  #words(reply: FastifyReply, uiLocales: readonly string[] | undefined): Translator {
    const { request } = reply
    const preferences = { uiLocales: uiLocales ?? queryUiLocales(request), acceptLanguage: request.headers['accept-language'] }
    return this.#catalogs.translator(chooseLocale(preferences, this.#catalogs.supported, this.#catalogs.defaultLocale))
  }

  /** What every template gets besides its page's own data. */
  #common(words: Translator, title: PageText, scripts: readonly string[] = []) {
    return {
      scripts,
      lang: words.locale,
      dir: words.dir,
      title: words.text(title),
      productName: this.#branding.productName,
      logo: this.#branding.logo,
      stylesheets: this.#branding.stylesheets,
      basePath: this.#basePath,
      t: words.t,
      tHtml: words.tHtml,
    }
  }

  /**
   * The page's HTML. An adopter's template that fails while rendering (it passed the check at
   * start, so only with data the check did not try) is logged, and the built-in page is shown.
   */
  #render(reply: FastifyReply, template: PageTemplate, data: object): string {
    const name = `@${template}`
    try {
      return this.#templates.active.render(name, data)
    } catch (error) {
      if (this.#templates.active === this.#templates.builtIn) throw error
      reply.log.error({ err: error, template }, `the ${template} page's template failed; the built-in one is shown instead`)
      return this.#templates.builtIn.render(name, data)
    }
  }

  /**
   * @param withScripts the page has a passkey form: it loads the passkey scripts, and its CSP allows
   *   scripts of this origin (files only: never inline)
   */
  #send(reply: FastifyReply, status: number, template: PageTemplate, words: Translator, title: PageText, data: object, redirectUri?: string, withScripts = false): FastifyReply {
    const scripts = withScripts ? (this.#scripts?.urls ?? []) : []
    const html = this.#render(reply, template, { ...this.#common(words, title, scripts), ...data })
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-language', words.locale)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('x-frame-options', 'DENY')
      .header(
        'content-security-policy',
        `default-src 'none';${scripts.length === 0 ? '' : " script-src 'self';"} style-src 'self'; img-src 'self'; form-action 'self'${formActionSource(redirectUri)}; frame-ancestors 'none'; base-uri 'none'`,
      )
      .send(html)
  }

  login(reply: FastifyReply, view: LoginView, context: RequestContext = {}, status = 200): FastifyReply {
    const words = this.#words(reply, context.uiLocales)
    return this.#send(reply, status, 'login', words, pageText('login.title'), loginData(view, words), context.redirectUri, view.passkey !== undefined)
  }

  consent(reply: FastifyReply, view: ConsentView, context: RequestContext): FastifyReply {
    const words = this.#words(reply, context.uiLocales)
    return this.#send(reply, 200, 'consent', words, pageText('consent.title'), consentData(view, words), context.redirectUri)
  }

  account(reply: FastifyReply, view: AccountView, status = 200): FastifyReply {
    const words = this.#words(reply, undefined)
    return this.#send(reply, status, 'account', words, pageText('account.title'), accountData(view, words), undefined, view.passkeys !== undefined)
  }

  signOutEverywhere(reply: FastifyReply, view: SignOutEverywhereView): FastifyReply {
    const words = this.#words(reply, undefined)
    return this.#send(reply, 200, 'sign-out-everywhere', words, pageText('signOutEverywhere.title'), view)
  }

  logout(reply: FastifyReply, view: LogoutView, context: RequestContext): FastifyReply {
    const words = this.#words(reply, context.uiLocales)
    return this.#send(reply, 200, 'logout', words, pageText('logout.title'), view, context.redirectUri)
  }

  removeAccess(reply: FastifyReply, view: RemoveAccessView): FastifyReply {
    const words = this.#words(reply, undefined)
    return this.#send(reply, 200, 'remove-access', words, pageText('removeAccess.title'), removeAccessData(view, words))
  }

  message(reply: FastifyReply, status: number, view: MessageView, context: RequestContext = {}): FastifyReply {
    const words = this.#words(reply, context.uiLocales)
    return this.#send(reply, status, 'message', words, view.title, messageData(status, view, words))
  }

  /** An error page: its title by `status`, `message` in the page's language. */
  sendError(reply: FastifyReply, status: number, message: PageText, options: { link?: PageLink; uiLocales?: readonly string[] | undefined } = {}): FastifyReply {
    return this.message(reply, status, { title: errorTitle(status), message, link: options.link }, { uiLocales: options.uiLocales })
  }

  /** The page of an OAuth error before a redirect URI is trusted: what it means for people, and its description for developers. */
  sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
    const words = this.#words(reply, undefined)
    const key = `error.${error.error}`
    const view = { title: errorTitle(error.status), message: pageText(words.has(key) ? key : 'error.other'), detail: error.description }
    return this.#send(reply, error.status, 'message', words, view.title, messageData(error.status, view, words))
  }

  home(reply: FastifyReply, issuer: string): FastifyReply {
    const words = this.#words(reply, undefined)
    return this.#send(reply, 200, 'home', words, pageText('home.title'), { issuer })
  }

  /**
   * Renders every page once with sample data, so that an adopter's template that fails on the data
   * it is given stops the start with its path and line, not the first sign-in.
   */
  #tryEveryPage(): void {
    const words = this.#catalogs.translator(FALLBACK_LOCALE)
    for (const [template, data] of samplePages(words)) {
      try {
        this.#templates.active.render(`@${template}`, { ...this.#common(words, pageText('login.title')), ...data })
      } catch (error) {
        // Eta wraps an error once per template it passes through: the innermost names the template at fault.
        let innermost = error as Error
        while (innermost.cause instanceof EtaRuntimeError) innermost = innermost.cause
        const where = innermost.message.split('\n')[0] ?? ''
        const cause = innermost.cause instanceof Error ? innermost.cause.message : innermost.message
        throw new ConfigError(`${where}: the ${template} page's template fails with the data it is given: ${cause}`)
      }
    }
  }
}

function loginData(view: LoginView, words: Translator) {
  return { ...view, error: view.error === undefined ? undefined : words.text(view.error) }
}

function consentData(view: ConsentView, words: Translator) {
  return { ...view, scopes: scopeViews(view.scopes, words) }
}

function accountData(view: AccountView, words: Translator) {
  return {
    ...view,
    notice: view.notice === undefined ? undefined : words.text(view.notice),
    apps: view.apps.map((app) => ({
      ...app,
      scopes: scopeViews(app.scopes, words),
      since: words.time(app.since),
      lastIssuedAt: app.lastIssuedAt === undefined ? undefined : words.time(app.lastIssuedAt),
    })),
    password: view.password === undefined ? undefined : { ...view.password, error: view.password.error === undefined ? undefined : words.text(view.password.error) },
    browsers: view.browsers.map((browser) => ({ ...browser, startedAt: words.time(browser.startedAt), lastSignInAt: words.time(browser.lastSignInAt) })),
    passkeys:
      view.passkeys === undefined
        ? undefined
        : {
            ...view.passkeys,
            error: view.passkeys.error === undefined ? undefined : words.text(view.passkeys.error),
            items: view.passkeys.items.map((item) => ({
              ...item,
              createdAt: words.time(item.createdAt),
              lastUsedAt: item.lastUsedAt === undefined ? undefined : words.time(item.lastUsedAt),
            })),
          },
  }
}

function removeAccessData(view: RemoveAccessView, words: Translator) {
  return { ...view, app: { ...view.app, scopes: scopeViews(view.app.scopes, words) } }
}

function messageData(status: number, view: MessageView, words: Translator) {
  return {
    message: words.text(view.message),
    detail: view.detail,
    isError: status >= 400,
    link: view.link === undefined ? undefined : { href: view.link.href, text: words.text(view.link.text) },
  }
}

/** Each page with data of every shape it is given (for `#tryEveryPage`). */
function samplePages(words: Translator): [PageTemplate, object][] {
  const now = Math.floor(Date.now() / 1000)
  const app = { clientName: 'Example App', scopes: ['openid', 'profile'], since: now - 86_400, consented: true, lastIssuedAt: now, removeAction: '/account/apps/x/remove' }
  const form = { action: '/form', csrf: 'csrf' }
  const browsers = [
    { startedAt: now - 60, lastSignInAt: now - 60, current: true },
    { startedAt: now - 86_400, lastSignInAt: now - 3_600, current: false },
  ]
  const account = { csrf: 'csrf', signOutAction: '/account/logout', signOutEverywhereAction: '/account/logout-everywhere' }
  return [
    ['login', loginData({ ...form, clientName: 'Example App', username: 'alice', error: pageText('login.badCredentials') }, words)],
    ['login', loginData({ ...form, clientName: undefined, username: '', error: undefined }, words)],
    ['login', loginData({ ...form, clientName: 'Example App', username: '', error: pageText('login.passkeyFailed'), passkey: { action: '/form/passkey', options: '{}', required: false } }, words)],
    ['login', loginData({ ...form, clientName: 'Example App', username: '', error: undefined, passkey: { action: '/form/passkey', options: '{}', required: true } }, words)],
    ['consent', consentData({ ...form, clientName: 'Example App', userName: 'Alice', scopes: ['openid', 'profile', 'email'], inBrowser: false, resources: [], registeredByItself: undefined }, words)],
    ['consent', consentData({ ...form, clientName: 'Example App', userName: undefined, scopes: ['openid'], inBrowser: true, resources: [{ name: 'Example MCP server', uri: 'https://mcp.example.com/mcp' }], registeredByItself: undefined }, words)],
    ['consent', consentData({ ...form, clientName: 'An MCP host', userName: 'Alice', scopes: ['openid'], inBrowser: false, resources: [], registeredByItself: { returnsTo: '127.0.0.1' } }, words)],
    [
      'account',
      accountData(
        {
          ...account,
          userName: 'Alice',
          notice: pageText('account.removed'),
          apps: [app, { ...app, consented: false, lastIssuedAt: undefined }],
          signedInApps: [{ clientName: 'Example App' }],
          password: { action: '/account/password', error: pageText('account.passwordWrong'), minLength: 8 },
          browsers,
        },
        words,
      ),
    ],
    [
      'account',
      accountData(
        { ...account, userName: 'Alice', notice: undefined, apps: [], signedInApps: [], password: { action: '/account/password', error: undefined, minLength: 8 }, browsers: browsers.slice(0, 1) },
        words,
      ),
    ],
    ['account', accountData({ ...account, userName: 'Alice', notice: undefined, apps: [], signedInApps: [], password: undefined, browsers: [] }, words)],
    [
      'account',
      accountData(
        {
          ...account,
          userName: 'Alice',
          notice: undefined,
          apps: [],
          signedInApps: [],
          password: undefined,
          browsers,
          passkeys: {
            items: [
              { name: 'Laptop', createdAt: now - 86_400, lastUsedAt: now, removeAction: '/account/passkeys/x/remove' },
              { name: 'Phone', createdAt: now, lastUsedAt: undefined, removeAction: '/account/passkeys/y/remove' },
            ],
            addAction: '/account/passkeys',
            options: '{}',
            error: pageText('account.passkeyFailed'),
          },
        },
        words,
      ),
    ],
    ['account', accountData({ ...account, userName: 'Alice', notice: undefined, apps: [], signedInApps: [], password: undefined, browsers, passkeys: { items: [], addAction: '/account/passkeys', options: '{}', error: undefined } }, words)],
    ['sign-out-everywhere', { ...form, browsers: 2, cancel: '/account' }],
    ['logout', { ...form, clientName: 'Example App', userName: 'Alice', fields: [{ name: 'client_id', value: 'example' }] }],
    ['logout', { ...form, clientName: undefined, userName: undefined, fields: [] }],
    ['remove-access', removeAccessData({ ...form, app: { clientName: 'Example App', scopes: ['openid'], consented: true }, cancel: '/account' }, words)],
    ['remove-access', removeAccessData({ ...form, app: { clientName: 'Example App', scopes: ['openid'], consented: false }, cancel: '/account' }, words)],
    ['message', messageData(400, { title: errorTitle(400), message: pageText('error.invalid_request'), detail: 'client_id is missing', link: { href: '/account', text: pageText('account.back') } }, words)],
    ['message', messageData(200, { title: pageText('interaction.doneTitle'), message: pageText('interaction.done') }, words)],
    ['home', { issuer: 'https://issuer.example' }],
  ]
}
