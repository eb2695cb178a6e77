/**
 * Passkeys over HTTP (issue #18), with a software authenticator (`test/passkey-authenticator.ts`):
 * adding one at /account, signing in with it (no password) on the login page of an authorization
 * request and on the account page, `amr` and `acr` in the ID token, step-up with `acr_values`, and
 * every refusal (malformed, replayed, another origin or RP id, an expired or foreign challenge, no
 * user verification, a disabled or removed user, a removed passkey, a counter going back): each
 * is the page's one message for a refused passkey (401), a `passkey.refused` event with its
 * reason, never a 5xx. The real browser test is `test/e2e/passkeys.test.ts`.
 */
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../src/http/audit.js'
import { CHALLENGE_LIFETIME } from '../../src/protocol/passkeys.js'
import { REAUTHENTICATE_AFTER } from '../../src/interaction/passkeys.js'
import { Browser, authorizeQuery, basicAuth, hiddenInput, locationOf, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'
import { SoftAuthenticator, pageOptions, passkeyAction } from '../passkey-authenticator.js'

type RegistrationOptions = { challenge: string; rp: { id: string }; user: { id: string }; authenticatorSelection: Record<string, unknown>; attestation: string }
type SignInOptions = { challenge: string; rpId: string; userVerification: string; allowCredentials?: unknown[] }

const REFUSED = 'This passkey could not sign you in.'

let server: TestServer
let client: TestClient
const events: AuditEvent[] = []

beforeAll(async () => {
  server = await startServer({}, { deps: { onEvent: (event) => void events.push(event) } })
  client = await server.addClient({ firstParty: true })
})
afterAll(() => server.close())
beforeEach(() => {
  events.length = 0
})

const origin = () => new URL(server.url).origin
const refusals = () => events.filter((event) => event.event === 'passkey.refused').map((event) => event.reason)

async function html(response: Response, status = 200): Promise<string> {
  const body = await response.text()
  expect({ status: response.status, body: body.slice(0, 300) }).toMatchObject({ status })
  return body
}

/** A browser signed in with the password at the account page. */
async function signedIn(user: { username: string; password: string }): Promise<Browser> {
  const browser = new Browser()
  const page = await html(await browser.get(`${server.url}/account`))
  expect((await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(page, 'csrf'), username: user.username, password: user.password })).status).toBe(303)
  return browser
}

/** Adds a passkey made by `authenticator` at the account page; the response to the form. */
async function addPasskey(browser: Browser, authenticator: SoftAuthenticator, name = 'Laptop', ceremony: Parameters<SoftAuthenticator['register']>[2] = {}): Promise<Response> {
  const page = await html(await browser.get(`${server.url}/account`))
  const options = pageOptions<RegistrationOptions>(page)
  return browser.post(`${server.url}${passkeyAction(page)}`, { csrf: hiddenInput(page, 'csrf'), name, credential: authenticator.register(options, origin(), ceremony) })
}

/** The account page's sign-in form (a browser not signed in): its passkey options, action and CSRF token. */
async function accountSignInPage(browser: Browser): Promise<{ options: SignInOptions; action: string; csrf: string }> {
  const page = await html(await browser.get(`${server.url}/account`))
  return { options: pageOptions<SignInOptions>(page), action: `${server.url}${passkeyAction(page)}`, csrf: hiddenInput(page, 'csrf') }
}

/** A user with a passkey, added in a browser that then signed out. */
async function userWithPasskey(options: { backupEligible?: boolean } = {}) {
  const user = await server.addUser()
  const authenticator = new SoftAuthenticator(options)
  const browser = await signedIn(user)
  expect(locationOf(await addPasskey(browser, authenticator), server.url)).toBe(`${server.url}/account?passkey=added`)
  return { user, authenticator }
}

/** Signs in at the login page of an authorization request with the passkey; the ID token's claims. */
async function signInForClient(authenticator: SoftAuthenticator, overrides: Record<string, string> = {}, browser = new Browser()) {
  const { verifier, challenge } = pkcePair()
  const start = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge, ...overrides })}`)
  const page = await html(await browser.get(locationOf(start, server.url)))
  const options = pageOptions<SignInOptions>(page)
  const signedIn = await browser.post(`${server.url}${passkeyAction(page)}`, { csrf: hiddenInput(page, 'csrf'), credential: authenticator.assert(options, origin()) })
  expect(signedIn.status).toBe(303)
  const callback = new URL(locationOf(await browser.get(locationOf(signedIn, server.url)), server.url))
  const code = callback.searchParams.get('code')
  expect(code).not.toBeNull()
  const response = await postForm(
    `${server.url}/token`,
    { grant_type: 'authorization_code', code: code ?? '', redirect_uri: client.redirectUri, code_verifier: verifier },
    { authorization: basicAuth(client.clientId, client.secret ?? '') },
  )
  expect(response.status).toBe(200)
  const tokens = (await response.json()) as { id_token: string; refresh_token?: string }
  return { claims: decodeJwt(tokens.id_token), tokens, page }
}

describe('adding a passkey and signing in with it', () => {
  it('WebAuthn §5.4: the account page asks for a discoverable credential with user verification, for the issuer as relying party', async () => {
    const user = await server.addUser()
    const page = await html(await (await signedIn(user)).get(`${server.url}/account`))
    const options = pageOptions<RegistrationOptions>(page)
    expect(options.rp.id).toBe(new URL(server.url).hostname)
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' })
    expect(options.attestation).toBe('none')
    expect(page).toContain('<h2>Passkeys</h2>')
    expect(page).toContain('You have no passkeys yet.')
  })

  it('a passkey added at /account signs in to an app with no password: amr hwk + user and acr phrh for a device-bound key (RFC 8176)', async () => {
    const { user, authenticator } = await userWithPasskey()
    expect(events.map((event) => event.event)).toContain('passkey.added')
    const { claims, page } = await signInForClient(authenticator)
    expect(page).toMatch(/autocomplete="username webauthn"/)
    expect(page).toMatch(/<button type="button" class="secondary">Sign in with a passkey<\/button>/)
    expect(pageOptions<SignInOptions>(page)).toMatchObject({ rpId: new URL(server.url).hostname, userVerification: 'required' })
    expect(pageOptions<SignInOptions>(page).allowCredentials ?? []).toEqual([])
    expect(claims).toMatchObject({ sub: user.id, amr: ['hwk', 'user'], acr: 'phrh' })
    expect(events.findLast((event) => event.event === 'login.succeeded')).toMatchObject({ user_id: user.id, client_id: client.clientId, amr: ['hwk', 'user'] })
    const [stored] = await server.store.listPasskeys(user.id)
    expect(stored).toMatchObject({ name: 'Laptop', counter: 1, deviceType: 'singleDevice', lastUsedAt: server.clock.now() })
  })

  it('a synced passkey (backup eligible) is swk + user and acr phr; a password is pwd', async () => {
    const { authenticator } = await userWithPasskey({ backupEligible: true })
    const { claims } = await signInForClient(authenticator)
    expect(claims).toMatchObject({ amr: ['swk', 'user'], acr: 'phr' })
  })

  it('a password sign-in says amr pwd and the password acr; discovery lists acr_values_supported and amr, acr', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    const { verifier, challenge } = pkcePair()
    const start = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge })}`)
    const page = await html(await browser.get(locationOf(start, server.url)))
    const action = /<form method="post" action="([^"]+\/login)"/.exec(page)?.[1] ?? ''
    const after = await browser.post(`${server.url}${action}`, { csrf: hiddenInput(page, 'csrf'), username: user.username, password: user.password })
    const code = new URL(locationOf(await browser.get(locationOf(after, server.url)), server.url)).searchParams.get('code') ?? ''
    const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }, { authorization: basicAuth(client.clientId, client.secret ?? '') })
    const claims = decodeJwt(((await response.json()) as { id_token: string }).id_token)
    expect(claims).toMatchObject({ amr: ['pwd'], acr: 'urn:authcode:acr:password' })
    const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, string[]>
    expect(metadata.acr_values_supported).toEqual(['urn:authcode:acr:password', 'phr', 'phrh'])
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['amr', 'acr']))
  })

  it('the account page signs in with a passkey too, and lists each passkey with when it was added and last used', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const { options, action, csrf } = await accountSignInPage(browser)
    expect(action).toBe(`${server.url}/account/passkey-login`)
    expect(locationOf(await browser.post(action, { csrf, credential: authenticator.assert(options, origin()) }), server.url)).toBe(`${server.url}/account`)
    const page = await html(await browser.get(`${server.url}/account`))
    expect(page).toMatch(/<h3>Laptop<\/h3>[\s\S]*<dt>Added<\/dt>[\s\S]*<time datetime="[^"]+">[\s\S]*<dt>Last used<\/dt>\s*<dd><time datetime=/)
    expect(page).toContain('Remove passkey<span class="visually-hidden"> Laptop</span>')
  })

  it('the pages load the passkey scripts from the server itself, under script-src \'self\' only; no inline script', async () => {
    const response = await new Browser().get(`${server.url}/account`)
    const page = await html(response)
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self';/)
    const scripts = [...page.matchAll(/<script[^>]*>/g)].map((match) => match[0])
    expect(scripts).toEqual([expect.stringMatching(/^<script src="\/assets\/webauthn\.js\?v=[\w-]{12}" defer>$/), expect.stringMatching(/^<script src="\/assets\/passkeys\.js\?v=[\w-]{12}" defer>$/)])
    for (const path of ['/assets/webauthn.js', '/assets/passkeys.js']) {
      const script = await fetch(`${server.url}${path}`)
      expect(script.status).toBe(200)
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/)
    }
    expect(await (await fetch(`${server.url}/assets/webauthn.js`)).text()).toContain('SimpleWebAuthnBrowser')
  })
})

describe('refused passkeys: the page\'s one message, an audit event, never a 5xx', () => {
  /** Posts `credential` to the account page's passkey sign-in; expects the refusal page. */
  async function refusedAtAccount(browser: Browser, csrf: string, credential: string): Promise<void> {
    const page = await html(await browser.post(`${server.url}/account/passkey-login`, { csrf, credential }), 401)
    expect(page).toContain(REFUSED)
    expect(browser.cookies.has('authcode_session')).toBe(false)
  }

  it('malformed responses: not JSON, not a credential, garbage inside, missing', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const { options, csrf } = await accountSignInPage(browser)
    const good = JSON.parse(authenticator.assert(options, origin())) as { response: Record<string, string> }
    for (const credential of ['not json', '{}', '[]', 'null', JSON.stringify({ id: 'x', response: {} }), JSON.stringify({ ...good, response: { ...good.response, clientDataJSON: '%%%' } }), JSON.stringify({ ...good, response: { ...good.response, authenticatorData: 'AAAA' } }), JSON.stringify({ ...good, response: { ...good.response, signature: 'AAAA' } })]) {
      await refusedAtAccount(browser, csrf, credential)
    }
    const page = await html(await browser.post(`${server.url}/account/passkey-login`, { csrf }), 401)
    expect(page).toContain(REFUSED)
    expect(refusals()).toEqual(['malformed', 'malformed', 'malformed', 'malformed', 'malformed', 'malformed', 'not_verified', 'not_verified', 'malformed'])
  })

  it('WebAuthn §13.4.9: a response sent again is refused (the challenge is spent)', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const { options, csrf } = await accountSignInPage(browser)
    const credential = authenticator.assert(options, origin())
    expect((await browser.post(`${server.url}/account/passkey-login`, { csrf, credential })).status).toBe(303)
    // Signed out, the same response again.
    expect((await browser.post(`${server.url}/account/logout`, { csrf })).status).toBe(303)
    await refusedAtAccount(browser, csrf, credential)
    expect(refusals()).toEqual(['replayed'])
  })

  it('WebAuthn §7.2 step 13: an assertion made on another origin (a phishing page, a sibling subdomain) or for another RP id is refused', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const { options, csrf } = await accountSignInPage(browser)
    await refusedAtAccount(browser, csrf, authenticator.assert(options, 'https://authcode-login.example'))
    await refusedAtAccount(browser, csrf, authenticator.assert(options, `http://evil.${new URL(server.url).host}`))
    await refusedAtAccount(browser, csrf, authenticator.assert(options, origin(), { rpId: 'evil.example' }))
    expect(refusals()).toEqual(['foreign_origin', 'foreign_origin', 'not_verified'])
  })

  it('a challenge lives CHALLENGE_LIFETIME seconds, and only in the browser it was made for', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const { options, csrf } = await accountSignInPage(browser)
    const other = new Browser()
    const otherPage = await accountSignInPage(other)
    await refusedAtAccount(other, otherPage.csrf, authenticator.assert(options, origin()))
    server.clock.advance(CHALLENGE_LIFETIME)
    try {
      await refusedAtAccount(browser, csrf, authenticator.assert(options, origin()))
    } finally {
      server.clock.advance(-CHALLENGE_LIFETIME)
    }
    // A challenge the server never made.
    await refusedAtAccount(browser, csrf, authenticator.assert({ ...options, challenge: 'AAAAAAAAAAAAAAAAAAAAAA' }, origin()))
    expect(refusals()).toEqual(['bad_challenge', 'expired_challenge', 'bad_challenge'])
  })

  it('user verification is required: a passkey used without it is refused', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const { options, csrf } = await accountSignInPage(browser)
    await refusedAtAccount(browser, csrf, authenticator.assert(options, origin(), { unverified: true }))
    expect(refusals()).toEqual(['not_verified'])
  })

  it('WebAuthn §6.1.1: a cloned authenticator (its counter going back, or standing still) is refused', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    let page = await accountSignInPage(browser)
    expect((await browser.post(page.action, { csrf: page.csrf, credential: authenticator.assert(page.options, origin()) })).status).toBe(303)
    expect((await browser.post(`${server.url}/account/logout`, { csrf: page.csrf })).status).toBe(303)
    // The stored counter is 1. A clone signs with 0 (back; its next assertion counts from -1 + 1), then with 1 (standing still).
    page = await accountSignInPage(browser)
    authenticator.counter = -1
    await refusedAtAccount(browser, page.csrf, authenticator.assert(page.options, origin()))
    page = await accountSignInPage(browser)
    authenticator.counter = 0
    await refusedAtAccount(browser, page.csrf, authenticator.assert(page.options, origin()))
    expect(refusals()).toEqual(['counter', 'counter'])
    // The real authenticator, ahead again, still signs in.
    authenticator.counter = 5
    page = await accountSignInPage(browser)
    expect((await browser.post(page.action, { csrf: page.csrf, credential: authenticator.assert(page.options, origin()) })).status).toBe(303)
  })

  it('the passkey of a disabled user does not sign in; of a removed user neither (its passkeys went with it)', async () => {
    const { user, authenticator } = await userWithPasskey()
    await server.store.disableUser(user.id, server.clock.now())
    const browser = new Browser()
    let page = await accountSignInPage(browser)
    await refusedAtAccount(browser, page.csrf, authenticator.assert(page.options, origin()))
    await server.store.enableUser(user.id)
    await server.store.deleteUser(user.id, server.clock.now())
    page = await accountSignInPage(browser)
    await refusedAtAccount(browser, page.csrf, authenticator.assert(page.options, origin()))
    expect(events.filter((event) => event.event === 'passkey.refused').map((event) => [event.reason, event.user_id])).toEqual([
      ['account_unusable', user.id],
      ['unknown_credential', null],
    ])
  })

  it('a refused passkey on an app\'s login page shows that page again with the message, the interaction still usable', async () => {
    const { authenticator } = await userWithPasskey()
    const browser = new Browser()
    const start = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
    const page = await html(await browser.get(locationOf(start, server.url)))
    const again = await html(await browser.post(`${server.url}${passkeyAction(page)}`, { csrf: hiddenInput(page, 'csrf'), credential: authenticator.assert(pageOptions<SignInOptions>(page), 'https://evil.example') }), 401)
    expect(again).toContain(REFUSED)
    expect(again).toContain('name="password"')
    expect(events.find((event) => event.event === 'passkey.refused')).toMatchObject({ client_id: client.clientId, reason: 'foreign_origin' })
    const retried = await browser.post(`${server.url}${passkeyAction(again)}`, { csrf: hiddenInput(again, 'csrf'), credential: authenticator.assert(pageOptions<SignInOptions>(again), origin()) })
    expect(retried.status).toBe(303)
  })
})

describe('the account\'s passkeys', () => {
  it('adding one is refused for another origin, a challenge of another session, no user verification, a bad name; each an event', async () => {
    const user = await server.addUser()
    const browser = await signedIn(user)
    for (const [ceremony, name] of [[{ origin: 'https://evil.example' }, 'Laptop'], [{ unverified: true }, 'Laptop'], [{}, ''], [{}, 'x'.repeat(65)], [{}, 'tab\there']] as const) {
      const response = await addPasskey(browser, new SoftAuthenticator(), name, ceremony)
      expect(response.status).toBe(400)
    }
    const page = await html(await browser.get(`${server.url}/account`))
    const other = await signedIn(user)
    const stolen = new SoftAuthenticator().register(pageOptions<RegistrationOptions>(page), origin())
    const otherPage = await html(await other.get(`${server.url}/account`))
    expect((await other.post(`${server.url}/account/passkeys`, { csrf: hiddenInput(otherPage, 'csrf'), name: 'Phone', credential: stolen })).status).toBe(400)
    expect(refusals()).toEqual(['foreign_origin', 'not_verified', 'bad_challenge'])
    expect(await server.store.listPasskeys(user.id)).toEqual([])
  })

  it('removing one asks for a recent sign-in; once removed it signs nobody in', async () => {
    const { user, authenticator } = await userWithPasskey()
    const browser = new Browser()
    let page = await accountSignInPage(browser)
    expect((await browser.post(page.action, { csrf: page.csrf, credential: authenticator.assert(page.options, origin()) })).status).toBe(303)
    const account = await html(await browser.get(`${server.url}/account`))
    const remove = /<form method="post" action="(\/account\/passkeys\/[^"]+\/remove)"/.exec(account)?.[1] ?? ''
    server.clock.advance(REAUTHENTICATE_AFTER + 1)
    const asked = await html(await browser.post(`${server.url}${remove}`, { csrf: hiddenInput(account, 'csrf') }), 401)
    expect(asked).toContain('For your security, sign in again before you change your passkeys.')
    expect(await server.store.listPasskeys(user.id)).toHaveLength(1)
    // Signing in again (here with the password) makes the sign-in recent.
    expect((await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(asked, 'csrf'), username: user.username, password: user.password })).status).toBe(303)
    expect(locationOf(await browser.post(`${server.url}${remove}`, { csrf: hiddenInput(account, 'csrf') }), server.url)).toBe(`${server.url}/account?passkey=removed`)
    expect(await server.store.listPasskeys(user.id)).toEqual([])
    expect(events.map((event) => event.event)).toContain('passkey.removed')
    // Another user cannot remove it, and it no longer signs in.
    const elsewhere = new Browser()
    page = await accountSignInPage(elsewhere)
    const refused = await html(await elsewhere.post(page.action, { csrf: page.csrf, credential: authenticator.assert(page.options, origin()) }), 401)
    expect(refused).toContain(REFUSED)
    expect(refusals()).toEqual(['unknown_credential'])
  })

  it('nobody removes another user\'s passkey', async () => {
    const { user } = await userWithPasskey()
    const [passkey] = await server.store.listPasskeys(user.id)
    const intruder = await signedIn(await server.addUser())
    const page = await html(await intruder.get(`${server.url}/account`))
    const response = await intruder.post(`${server.url}/account/passkeys/${encodeURIComponent(passkey?.credentialId ?? '')}/remove`, { csrf: hiddenInput(page, 'csrf') })
    expect(response.status).toBe(404)
    expect(await server.store.listPasskeys(user.id)).toHaveLength(1)
  })
})

describe('step-up: acr_values and max_age can require a passkey (OIDC Core §3.1.2.1)', () => {
  it('a session by password does not satisfy acr_values=phr: the login page asks for a passkey alone, and a password sign-in is not enough', async () => {
    const { user, authenticator } = await userWithPasskey()
    const browser = await signedIn(user)
    // prompt=none cannot step up.
    const none = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, acr_values: 'phr', prompt: 'none' })}`)
    expect(new URL(locationOf(none, server.url)).searchParams.get('error')).toBe('login_required')
    const start = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, acr_values: 'phr' })}`)
    const page = await html(await browser.get(locationOf(start, server.url)))
    expect(page).toContain('This app asks you to sign in with a passkey.')
    expect(page).not.toContain('name="password"')
    expect(page).toMatch(/<button type="button" autofocus>Sign in with a passkey<\/button>/)
    // A password posted all the same signs in, but the request stays waiting for a passkey.
    const action = passkeyAction(page).replace(/\/passkey$/, '/login')
    const password = await html(await browser.post(`${server.url}${action}`, { csrf: hiddenInput(page, 'csrf'), username: user.username, password: user.password }), 403)
    expect(password).toContain('This app asks you to sign in with a passkey.')
    const { claims } = await signInForClient(authenticator, { acr_values: 'phr' }, browser)
    expect(claims).toMatchObject({ acr: 'phrh', amr: ['hwk', 'user'] })
  })

  it('a passkey session satisfies acr_values=phr without a new sign-in until max_age says otherwise; unknown acr values ask for nothing', async () => {
    const { authenticator } = await userWithPasskey({ backupEligible: true })
    const browser = new Browser()
    await signInForClient(authenticator, {}, browser)
    const again = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, acr_values: 'phr' })}`)
    expect(new URL(locationOf(again, server.url)).searchParams.get('code')).not.toBeNull()
    // A synced passkey is not hardware-bound: phrh asks for a sign-in again.
    const hardware = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, acr_values: 'phrh' })}`)
    expect(locationOf(hardware, server.url)).toMatch(/\/interaction\//)
    const unknown = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, acr_values: 'urn:example:gold' })}`)
    expect(new URL(locationOf(unknown, server.url)).searchParams.get('code')).not.toBeNull()
    server.clock.advance(120)
    try {
      const aged = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, acr_values: 'phr', max_age: '60' })}`)
      expect(locationOf(aged, server.url)).toMatch(/\/interaction\//)
    } finally {
      server.clock.advance(-120)
    }
  })
})

describe('pages.passkeys: false', () => {
  it('no passkey form, no script, no routes, and only the password acr', async () => {
    const off = await startServer({ pages: { passkeys: false } })
    try {
      const response = await new Browser().get(`${off.url}/account`)
      const page = await response.text()
      expect(page).not.toContain('passkey')
      expect(page).not.toMatch(/<script/i)
      expect(response.headers.get('content-security-policy')).not.toContain('script-src')
      expect((await fetch(`${off.url}/assets/passkeys.js`)).status).toBe(404)
      expect((await postForm(`${off.url}/account/passkey-login`, { credential: '{}' })).status).toBe(404)
      const metadata = (await (await fetch(`${off.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>
      expect(metadata.acr_values_supported).toEqual(['urn:authcode:acr:password'])
    } finally {
      await off.close()
    }
  })
})
