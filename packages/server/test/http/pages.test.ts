/**
 * The pages an adopter makes their own (issue #17), over HTTP: the language each page speaks
 * (`ui_locales`, then `Accept-Language`, then `pages.defaultLocale`; OIDC Core §3.1.2.1), the
 * brand (product name, logo, stylesheet, accent colour) served under the same strict CSP, the
 * adopter's templates and catalogs, and what stops the start. The same pages in a real browser,
 * with axe-core: test/e2e/pages-languages.test.ts and test/e2e/pages-branding.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { Browser, authorizeQuery, hiddenInput, locationOf, obtainTokens, pkcePair, startServer, type TestClient, type TestServer } from '../harness.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/pages')
const CHALLENGE = pkcePair().challenge
/** Scripts only from this origin, and only on pages with a passkey form (files: never inline). */
const STRICT_CSP = /^default-src 'none';( script-src 'self';)? style-src 'self'; img-src 'self'; form-action 'self'( [^;]+)?; frame-ancestors 'none'; base-uri 'none'$/

const langOf = (html: string) => /<html lang="([^"]+)"/.exec(html)?.[1]
const headingOf = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1]

/** GET /authorize with `headers`; follows the redirect to the interaction page and returns it. */
async function signInPage(server: TestServer, browser: Browser, client: TestClient, overrides: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const start = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: CHALLENGE, ...overrides })}`, headers)
  expect(start.status).toBe(303)
  const url = locationOf(start, server.url)
  const response = await browser.get(url, headers)
  expect(response.status).toBe(200)
  const html = await response.text()
  return { url, response, html, csrf: hiddenInput(html, 'csrf') }
}

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('the language of the pages', () => {
  let server: TestServer
  let client: TestClient
  let user: { id: string; username: string; password: string }

  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient({ name: 'Photo Printer' })
    user = await server.addUser(undefined, undefined, { name: 'Alice Example' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it.each([
    ['en-GB,en;q=0.9', 'en', 'Sign in', 'Username'],
    ['de-DE,de;q=0.9,en;q=0.8', 'de', 'Anmelden', 'Benutzername'],
    ['fr-CH, fr;q=0.9, en;q=0.8', 'fr', 'Connexion', 'Nom d’utilisateur'],
  ])('Accept-Language %s: the login page in %s, <html lang> and Content-Language say so', async (acceptLanguage, lang, heading, label) => {
    const { response, html } = await signInPage(server, new Browser(), client, {}, { 'accept-language': acceptLanguage })
    expect(langOf(html)).toBe(lang)
    expect(response.headers.get('content-language')).toBe(lang)
    expect(headingOf(html)).toBe(heading)
    expect(html).toContain(`<label for="username">${label}</label>`)
    expect(html).toMatch(new RegExp(`<title>${heading} – authcode</title>`))
  })

  it('OIDC Core §3.1.2.1: ui_locales wins over Accept-Language, on every page of the sign-in request', async () => {
    const browser = new Browser()
    const german = { 'accept-language': 'de' }
    const page = await signInPage(server, browser, client, { ui_locales: 'es fr-CA de' }, german)
    expect([langOf(page.html), headingOf(page.html)]).toEqual(['fr', 'Connexion'])
    // A failed sign-in shows the form again in the request's language.
    const failed = await browser.post(`${page.url}/login`, { csrf: page.csrf, username: user.username, password: 'wrong' }, german)
    const failedHtml = await failed.text()
    expect(failed.status).toBe(401)
    expect(failedHtml).toContain('Le nom d’utilisateur ou le mot de passe est incorrect.')
    const signedIn = await browser.post(`${page.url}/login`, { csrf: page.csrf, username: user.username, password: user.password }, german)
    const consent = await (await browser.get(locationOf(signedIn, server.url), german)).text()
    expect([langOf(consent), headingOf(consent)]).toEqual(['fr', 'Autoriser l’accès\u00a0?'])
    expect(consent).toContain('<li>Vous connecter avec l’identifiant de votre compte <code>openid</code></li>')
    expect(consent).toContain('<span class="client">Photo Printer</span> demande l’accès à votre compte (<span class="user">Alice Example</span>)')
    expect(consent).toContain('>Autoriser</button>')
  })

  it('without a match: pages.defaultLocale; without one, English', async () => {
    const german = await startServer({ pages: { defaultLocale: 'de' } })
    try {
      const app = await german.addClient()
      for (const acceptLanguage of ['es, it;q=0.5', '*', '']) {
        expect(langOf((await signInPage(german, new Browser(), app, {}, { 'accept-language': acceptLanguage })).html)).toBe('de')
      }
      expect(langOf((await signInPage(german, new Browser(), app, { ui_locales: 'tlh' })).html)).toBe('de')
      expect(langOf((await signInPage(german, new Browser(), app, {}, { 'accept-language': 'fr' })).html)).toBe('fr')
    } finally {
      await german.close()
    }
    expect(langOf((await signInPage(server, new Browser(), client, {}, { 'accept-language': 'es' })).html)).toBe('en')
  })

  it('error pages follow the same choice: Accept-Language, and the ui_locales of the request they answer', async () => {
    const expired = await new Browser().get(`${server.url}/interaction/00000000-0000-4000-8000-000000000000`, { 'accept-language': 'de' })
    const html = await expired.text()
    expect(expired.status).toBe(400)
    expect([langOf(html), headingOf(html)]).toEqual(['de', 'Diese Anfrage kann nicht ausgeführt werden'])
    expect(html).toContain('Diese Anmeldeanfrage ist abgelaufen oder existiert nicht.')
    // Before the client is known, an OAuth error page: what it means in French, the description for developers as it is.
    const unknown = await new Browser().get(`${server.url}/authorize?${authorizeQuery(client, { client_id: 'nobody', ui_locales: 'fr' })}`, { 'accept-language': 'de' })
    const unknownHtml = await unknown.text()
    expect([unknown.status, langOf(unknownHtml)]).toEqual([400, 'fr'])
    expect(unknownHtml).toContain('L’application a envoyé une demande que ce serveur ne peut pas accepter.')
    expect(unknownHtml).toContain('<p class="detail">Détails\u00a0: <code>client_id is not a registered client</code></p>')
  })

  it('the account page follows Accept-Language (or ?ui_locales=); dates and times are in its language', async () => {
    const { browser } = await obtainTokens(server, client, user)
    const de = await (await browser.get(`${server.url}/account`, { 'accept-language': 'de' })).text()
    expect([langOf(de), headingOf(de)]).toEqual(['de', 'Ihr Konto'])
    expect(de).toContain('<h2>Verbundene Apps</h2>')
    expect(de).toContain('<dt>Zugriff erlaubt am</dt>')
    expect(de).toMatch(/<time datetime="[\dT:Z-]+">\d{1,2}\. \S+ \d{4}, \d{2}:\d{2} UTC<\/time>/)
    expect(de).toContain('<li>Ihren Namen und Benutzernamen sehen <code>profile</code></li>')
    const fr = await (await browser.get(`${server.url}/account?ui_locales=fr`, { 'accept-language': 'de' })).text()
    expect([langOf(fr), headingOf(fr)]).toEqual(['fr', 'Votre compte'])
    expect(fr).toMatch(/<time datetime="[\dT:Z-]+">\d{1,2} \S+ \d{4}(,| à) \d{2}:\d{2} UTC<\/time>/)
    // The sign-in form of the account page, and its errors, too.
    const signIn = await (await new Browser().get(`${server.url}/account`, { 'accept-language': 'fr' })).text()
    expect(signIn).toContain('pour voir et gérer les applications qui peuvent utiliser votre compte')
  })

  it('an Accept-Language header of any size or shape never fails a page', async () => {
    const browser = new Browser()
    const { url } = await signInPage(server, browser, client)
    const weird = fc.string({ unit: fc.constantFrom(...'abcdefghDEFXYZ-_;,=q0123456789.* \t!"#$%&\'()+/:<>?@[]^`{|}~'.split('')), maxLength: 6_000 })
    const realistic = fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,8}(-[A-Za-z0-9]{1,8}){0,3}$/), fc.option(fc.double({ min: -1, max: 2, noNaN: true }))), { maxLength: 200 })
      .map((entries) => entries.map(([tag, q]) => (q === null ? tag : `${tag};q=${q}`)).join(', '))
    await fc.assert(
      fc.asyncProperty(fc.oneof(weird, realistic), fc.constantFrom(url, `${server.url}/account`, `${server.url}/interaction/x`), async (header, target) => {
        const response = await browser.get(target, { 'accept-language': header })
        expect([200, 400]).toContain(response.status)
        expect(['en', 'de', 'fr']).toContain(langOf(await response.text()))
      }),
      { numRuns: 60 },
    )
  })

  it('OIDC Discovery §3: ui_locales_supported lists every language of the pages, in both documents', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const metadata = (await (await fetch(`${server.url}${path}`)).json()) as { ui_locales_supported?: string[] }
      expect(metadata.ui_locales_supported).toEqual(['en', 'de', 'fr'])
    }
  })
})

describe('the adopter\'s brand, templates and catalogs', () => {
  let server: TestServer
  let client: TestClient

  beforeAll(async () => {
    server = await startServer({
      pages: {
        productName: 'Acme Cloud',
        logo: join(FIXTURES, 'logo.svg'),
        stylesheet: join(FIXTURES, 'brand.css'),
        accentColor: '#0b6e4f',
        templates: join(FIXTURES, 'templates'),
        messages: join(FIXTURES, 'messages'),
      },
    })
    client = await server.addClient({ name: 'Photo Printer' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('every page: the product name in the title and the header, the logo with it as its text, both stylesheets, the same strict CSP', async () => {
    const { response, html } = await signInPage(server, new Browser(), client)
    expect(html).toContain('<title>Sign in – Acme Cloud</title>')
    expect(html).toMatch(/<header class="brand">\s*<img src="\/assets\/logo\?v=[\w-]{12}" alt="Acme Cloud">\s*<\/header>/)
    const links = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1])
    expect(links).toEqual([expect.stringMatching(/^\/assets\/style\.css\?v=[\w-]{12}$/), expect.stringMatching(/^\/assets\/custom\.css\?v=[\w-]{12}$/)])
    expect(response.headers.get('content-security-policy')).toMatch(STRICT_CSP)
    expect(html.replace(/<script src="\/assets\/(?:webauthn|passkeys)\.js\?v=[\w-]{12}" defer><\/script>/g, '')).not.toMatch(/<style|style=|<script/i)
    const home = await (await fetch(`${server.url}/`)).text()
    expect(home).toContain('<h1>Acme Cloud</h1>')
    expect(home).toContain('<title>Authorization server – Acme Cloud</title>')
  })

  it('the logo and the stylesheets are served by the server itself, under fixed paths', async () => {
    const logo = await fetch(`${server.url}/assets/logo`)
    expect(logo.headers.get('content-type')).toBe('image/svg+xml')
    expect(Buffer.from(await logo.arrayBuffer())).toEqual(readFileSync(join(FIXTURES, 'logo.svg')))
    // An SVG opened by itself runs no script: the default CSP of every non-page answer.
    expect(logo.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    const custom = await fetch(`${server.url}/assets/custom.css`)
    expect(custom.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await custom.text()).toBe(readFileSync(join(FIXTURES, 'brand.css'), 'utf8'))
    const style = await (await fetch(`${server.url}/assets/style.css`)).text()
    expect(style).toContain('--accent: #1f5fd1;')
    expect(style.trimEnd().endsWith(':root { --accent: #0b6e4f; --accent-ink: #fff; }')).toBe(true)
  })

  it('/favicon.ico, which every browser asks for, is an icon and not a 404 (issue #16)', async () => {
    const icon = await fetch(`${server.url}/favicon.ico`)
    expect(icon.status).toBe(200)
    expect(icon.headers.get('content-type')).toBe('image/x-icon')
    expect(Buffer.from(await icon.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]))
  })

  it('without them: no logo, no second stylesheet, the product name as text', async () => {
    const plain = await startServer()
    try {
      expect((await fetch(`${plain.url}/assets/logo`)).status).toBe(404)
      expect((await fetch(`${plain.url}/assets/custom.css`)).status).toBe(404)
      const html = await (await fetch(`${plain.url}/`)).text()
      expect(html).toMatch(/<header class="brand">\s*<span class="product">authcode<\/span>\s*<\/header>/)
      expect([...html.matchAll(/<link rel="stylesheet"/g)]).toHaveLength(1)
    } finally {
      await plain.close()
    }
  })

  it('an override template replaces the built-in one, with its own partial and messages', async () => {
    const en = await signInPage(server, new Browser(), client)
    expect(en.html).toContain('<p class="brand-help">Trouble signing in? Ask the Acme Cloud service desk.</p>')
    const de = await signInPage(server, new Browser(), client, {}, { 'accept-language': 'de' })
    expect(headingOf(de.html)).toBe('Bei Acme Cloud anmelden')
    expect(de.html).toContain('<p class="brand-help">Probleme bei der Anmeldung? Fragen Sie den Acme Cloud-Service-Desk.</p>')
    expect(de.html).toContain('<label for="username">Benutzername</label>')
  })

  it('a language of the adopter\'s: listed in discovery; a message its catalog lacks is in English', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { ui_locales_supported?: string[] }
    expect(metadata.ui_locales_supported).toEqual(['en', 'de', 'fr', 'nl'])
    const nl = await signInPage(server, new Browser(), client, { ui_locales: 'nl-BE' })
    expect([langOf(nl.html), headingOf(nl.html)]).toEqual(['nl', 'Inloggen'])
    expect(nl.html).toContain('<label for="username">Gebruikersnaam</label>')
    expect(nl.html).toContain('to continue to <span class="client">Photo Printer</span>')
  })

  it('an adopter\'s template that fails on data the start check did not try: the built-in page, and the error logged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authcode-templates-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'consent.eta'), "<% layout('@layout') %>\n<% if (it.clientName === 'Boom') { throw new Error('boom') } %>\n<h1>Custom consent</h1>\n")
    const lines: string[] = []
    const fragile = await startServer({ logLevel: 'error', pages: { templates: dir } }, { deps: { logStream: { write: (line: string) => void lines.push(line) } } })
    try {
      const user = await fragile.addUser()
      for (const [name, heading] of [['Fine', 'Custom consent'], ['Boom', 'Allow access?']] as const) {
        const app = await fragile.addClient({ name })
        const browser = new Browser()
        const page = await signInPage(fragile, browser, app)
        const signedIn = await browser.post(`${page.url}/login`, { csrf: page.csrf, username: user.username, password: user.password })
        const consent = await browser.get(locationOf(signedIn, fragile.url))
        expect(consent.status).toBe(200)
        expect(headingOf(await consent.text())).toBe(heading)
      }
      expect(lines.some((line) => line.includes("the consent page's template failed; the built-in one is shown instead") && line.includes(join(dir, 'consent.eta')))).toBe(true)
    } finally {
      await fragile.close()
    }
  })
})

describe('what stops the start', () => {
  it('a template or catalog that does not parse: the server does not start, and says which file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authcode-broken-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'login.eta'), "<% layout('@layout') %>\n<h1><%= it.t('login.heading') </h1>\n")
    await expect(startServer({ pages: { templates: dir } })).rejects.toThrow(`${join(dir, 'login.eta')}:2: the template does not parse`)
    writeFileSync(join(dir, 'de.json'), '{\n  "login.heading": "Anmelden",\n}\n')
    await expect(startServer({ pages: { messages: dir } })).rejects.toThrow(new RegExp(`^${join(dir, 'de.json')}:3: not valid JSON`))
  })

  it('the pages settings are checked like every other; each has an AUTHCODE_PAGES_* variable; paths resolve against the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authcode-config-'))
    dirs.push(dir)
    const config = join(dir, 'authcode.json')
    writeFileSync(config, JSON.stringify({ pages: { accentColor: 'green', productName: '' } }))
    expect(() => loadConfig({ config }, {}, dir)).toThrow(/pages\.productName: must NOT have fewer than 1 characters\n {2}pages\.accentColor: must match pattern "\^#\[0-9A-Fa-f\]\{6\}\$"/)
    writeFileSync(config, JSON.stringify({ pages: { colour: '#000000' } }))
    expect(() => loadConfig({ config }, {}, dir)).toThrow('pages.colour: unknown setting')
    const pages = loadConfig({}, { AUTHCODE_PAGES_PRODUCT_NAME: 'Acme', AUTHCODE_PAGES_LOGO: 'brand/logo.png', AUTHCODE_PAGES_DEFAULT_LOCALE: 'de', AUTHCODE_PAGES_PASSKEYS: 'false' }, dir).pages
    expect(pages).toEqual({ productName: 'Acme', logo: join(dir, 'brand/logo.png'), stylesheet: undefined, accentColor: undefined, templates: undefined, messages: undefined, defaultLocale: 'de', passkeys: false })
    expect(loadConfig({}, {}, dir).pages.passkeys).toBe(true)
    expect(() => loadConfig({}, { AUTHCODE_PAGES_DEFAULT_LOCALE: 'de DE' }, dir)).toThrow(/^AUTHCODE_PAGES_DEFAULT_LOCALE: must match pattern/)
  })
})
