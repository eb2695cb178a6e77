/**
 * Abuse that must not be turned against users (SECURITY.md 26, 27, 30, 31): each finding of the
 * first release's security review, replayed over HTTP as the attacker sent it.
 */
import { createHmac } from 'node:crypto'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword, hashToken, randomToken } from '../../src/tokens/secrets.js'
import {
  Browser,
  authorizeQuery,
  basicAuth,
  hiddenInput,
  locationOf,
  pkcePair,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'

type User = { username: string; password: string }

/** Rows of one table of the server's SQLite file, read beside the server (WAL allows it). */
function rows(server: TestServer, sql: string): Record<string, unknown>[] {
  const db = new Database(server.config.db.slice('sqlite:'.length), { readonly: true })
  try {
    return db.prepare(sql).all() as Record<string, unknown>[]
  } finally {
    db.close()
  }
}

/** A token request from `address` (as the socket's peer), through the app itself. */
async function tokenFrom(server: TestServer, address: string, form: Record<string, string>, authorization?: string) {
  const response = await server.app.inject({
    method: 'POST',
    url: '/token',
    remoteAddress: address,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization === undefined ? {} : { authorization }) },
    payload: new URLSearchParams(form).toString(),
  })
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() }
}

/** GET /authorize in `browser`, then the interaction page it leads to. */
async function begin(server: TestServer, browser: Browser, client: TestClient, overrides: Record<string, string> = {}) {
  const start = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, ...overrides })}`)
  expect(start.status).toBe(303)
  const url = locationOf(start, server.url)
  const html = await (await browser.get(url)).text()
  return { url, csrf: hiddenInput(html, 'csrf'), html }
}

function login(browser: Browser, pending: { url: string; csrf: string }, user: User): Promise<Response> {
  return browser.post(`${pending.url}/login`, { csrf: pending.csrf, username: user.username, password: user.password })
}

/** Signs `user` in on a new interaction of `browser`; returns the interaction's consent page. */
async function signInToConsent(server: TestServer, browser: Browser, client: TestClient, user: User, overrides: Record<string, string> = {}) {
  const pending = await begin(server, browser, client, overrides)
  const afterLogin = await login(browser, pending, user)
  expect(afterLogin.status).toBe(303)
  const html = await (await browser.get(locationOf(afterLogin, server.url))).text()
  expect(html).toContain('/consent"')
  return { url: pending.url, csrf: hiddenInput(html, 'csrf') }
}

async function signOut(server: TestServer, browser: Browser): Promise<void> {
  const csrf = hiddenInput(await (await browser.get(`${server.url}/account`)).text(), 'csrf')
  expect((await browser.post(`${server.url}/account/logout`, { csrf })).status).toBe(303)
}

describe('SECURITY.md 26: nobody can lock a client out of the token endpoint', () => {
  let server: TestServer
  let client: TestClient
  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient({ name: 'Victim App' })
  })
  afterAll(() => server.close())

  it('the app\'s correct secret works after 60 wrong ones from another address, at /token and /introspect', async () => {
    for (let i = 0; i < 60; i++) {
      const { status } = await tokenFrom(server, '203.0.113.66', { grant_type: 'refresh_token', refresh_token: 'x' }, basicAuth(client.clientId, `guess-${i}`))
      expect([401, 429]).toContain(status)
    }
    // The attacker's address is slowed down…
    expect((await tokenFrom(server, '203.0.113.66', { grant_type: 'refresh_token', refresh_token: 'x' }, basicAuth(client.clientId, 'guess'))).status).toBe(429)
    // …the app, elsewhere, is not: its request reaches the grant (invalid_grant, not invalid_client).
    const fromApp = await tokenFrom(server, '198.51.100.10', { grant_type: 'refresh_token', refresh_token: 'x' }, basicAuth(client.clientId, client.secret ?? ''))
    expect(fromApp).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const introspection = await server.app.inject({
      method: 'POST',
      url: '/introspect',
      remoteAddress: '198.51.100.10',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.clientId, client.secret ?? '') },
      payload: 'token=whatever',
    })
    expect(introspection.statusCode).toBe(200)
    expect(introspection.json()).toEqual({ active: false })
  })

  it('unknown client_ids write nothing: 500 requests with 8 KB random client_ids leave no throttle row', async () => {
    const before = rows(server, 'SELECT count(*) AS n FROM rate_limits')[0]?.n
    for (let i = 0; i < 500; i++) {
      const clientId = randomToken().repeat(190).slice(0, 8000)
      const response = await tokenFrom(server, '203.0.113.67', { grant_type: 'authorization_code', code: 'x', client_id: clientId, client_secret: 'y' })
      expect(response.status).toBe(401)
    }
    expect(rows(server, 'SELECT count(*) AS n FROM rate_limits')[0]?.n).toBe(before)
  })
})

describe('SECURITY.md 27: login throttling cannot be raced or turned against the owner', () => {
  let server: TestServer
  let client: TestClient
  beforeAll(async () => {
    // Every request comes from 127.0.0.1: the per-address limits are not what these cases test.
    server = await startServer({ rateLimit: { loginPerIp: { max: 10_000, window: 900 }, interactionsPerIp: { max: 10_000, window: 900 } } })
    client = await server.addClient({ name: 'Some App', firstParty: true })
  })
  afterAll(() => server.close())

  it('100 concurrent wrong passwords for one account get at most loginPerAccount.max password checks', async () => {
    const victim = await server.addUser()
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => login(browser, pending, { username: victim.username, password: `wrong ${i}` }).then((r) => r.status)),
    )
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(server.config.rateLimit.loginPerAccount.max)
    expect(statuses.filter((status) => status !== 401).every((status) => status === 429)).toBe(true)
  })

  it('30 concurrent attempts whose last one is right do not sign in past the limit', async () => {
    const victim = await server.addUser()
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    const attempts = Array.from({ length: 30 }, (_, i) => (i === 29 ? victim : { username: victim.username, password: `wrong ${i}` }))
    const statuses = await Promise.all(attempts.map((attempt) => login(browser, pending, attempt).then((r) => r.status)))
    const checked = statuses.filter((status) => status !== 429).length
    expect(checked).toBeLessThanOrEqual(server.config.rateLimit.loginPerAccount.max)
  })

  it('the owner signs in from her browser after 30 failures from elsewhere; a stranger\'s browser waits', async () => {
    const owner = await server.addUser()
    const ownBrowser = new Browser()
    // She signed in here before: the browser now vouches for her account.
    expect((await login(ownBrowser, await begin(server, ownBrowser, client), owner)).status).toBe(303)
    await signOut(server, ownBrowser)

    const attacker = new Browser()
    for (let i = 0; i < 30; i++) {
      const pending = await begin(server, attacker, client)
      expect([401, 429]).toContain((await login(attacker, pending, { username: owner.username, password: `guess ${i}` })).status)
    }
    // A browser the account never signed in from waits…
    const stranger = new Browser()
    expect((await login(stranger, await begin(server, stranger, client), owner)).status).toBe(429)
    // …a device cookie the server did not issue counts for nothing…
    const forger = new Browser()
    forger.cookies.set('authcode_device', `${randomToken()}.${randomToken()}`)
    expect((await login(forger, await begin(server, forger, client), owner)).status).toBe(429)
    // …and she signs in from her own browser at once.
    expect((await login(ownBrowser, await begin(server, ownBrowser, client), owner)).status).toBe(303)
  })

  it('failures with random usernames from one address do not keep a vouched-for browser behind that address out', async () => {
    const server = await startServer({ rateLimit: { loginPerIp: { max: 10, window: 900 } } })
    try {
      const client = await server.addClient({ firstParty: true })
      const owner = await server.addUser()
      const ownBrowser = new Browser()
      expect((await login(ownBrowser, await begin(server, ownBrowser, client), owner)).status).toBe(303)
      await signOut(server, ownBrowser)
      const attacker = new Browser()
      const pending = await begin(server, attacker, client)
      for (let i = 0; i < 12; i++) await login(attacker, pending, { username: `random-${i}-${randomToken()}`, password: 'x' })
      expect((await login(attacker, pending, owner)).status).toBe(429)
      expect((await login(ownBrowser, await begin(server, ownBrowser, client), owner)).status).toBe(303)
    } finally {
      await server.close()
    }
  })

  it('SECURITY.md 31: throttle keys are hashed: an 8 KB username stores a key of fixed size', async () => {
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    expect((await login(browser, pending, { username: 'u'.repeat(8000), password: 'x' })).status).toBe(401)
    const longest = rows(server, 'SELECT max(length(key)) AS n FROM rate_limits')[0]?.n
    expect(Number(longest)).toBeLessThan(64)
  })

  it('SECURITY.md 7: a password hash with weaker scrypt parameters is upgraded at the next sign-in', async () => {
    const user = { username: `legacy-${randomToken().slice(0, 8)}`, password: 'an old password' }
    const legacy = await scryptLegacy(user.password)
    const now = server.clock.now()
    await server.store.createUser({ id: randomToken(), username: user.username, passwordHash: legacy, name: null, email: null, emailVerified: false, createdAt: now, updatedAt: now, disabledAt: null })
    const browser = new Browser()
    expect((await login(browser, await begin(server, browser, client), user)).status).toBe(303)
    const stored = (await server.store.getUserByUsername(user.username))?.passwordHash ?? ''
    expect(stored).not.toBe(legacy)
    expect(stored.split('$').slice(0, 4)).toEqual((await hashPassword('x')).split('$').slice(0, 4))
    // and the new hash still signs her in
    const again = new Browser()
    expect((await login(again, await begin(server, again, client), user)).status).toBe(303)
  })
})

/** A hash as the first release made them: scrypt N=2^15, r=8, p=1. */
async function scryptLegacy(password: string): Promise<string> {
  const { scrypt, randomBytes } = await import('node:crypto')
  const salt = randomBytes(16)
  const key = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (err, derived) => (err ? reject(err) : resolve(derived))),
  )
  return ['scrypt', 2 ** 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$')
}

describe('SECURITY.md 30: sign-out ends everything it started', () => {
  let server: TestServer
  let client: TestClient
  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient({ name: 'Third Party' })
  })
  afterAll(() => server.close())

  it('Allow on a consent page opened before sign-out issues nothing', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    const consent = await signInToConsent(server, browser, client, user)
    await signOut(server, browser)
    const allow = await browser.post(`${consent.url}/consent`, { csrf: consent.csrf, decision: 'approve' })
    // Sign-out deleted the interaction: the page says it has ended.
    expect(allow.status).toBe(400)
    expect(allow.headers.get('location')).toBeNull()
    const resume = await browser.get(`${server.url}/authorize/resume/${consent.url.split('/').pop() ?? ''}`)
    expect(resume.headers.get('location') ?? '').not.toContain('code=')
  })

  it('Allow already given before sign-out: the resume link mints no code after it', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    const consent = await signInToConsent(server, browser, client, user)
    const allowed = await browser.post(`${consent.url}/consent`, { csrf: consent.csrf, decision: 'approve' })
    expect(allowed.status).toBe(303)
    await signOut(server, browser)
    const resume = await browser.get(locationOf(allowed, server.url))
    expect(resume.headers.get('location') ?? '').not.toContain('code=')
    expect([400, 403]).toContain(resume.status)
  })

  it('a prompt=login sign-in as someone else ends the first user\'s session and her pending consent', async () => {
    const first = await server.addUser()
    const second = await server.addUser()
    const browser = new Browser()
    const firstConsent = await signInToConsent(server, browser, client, first)
    const firstSession = browser.cookies.get('authcode_session') ?? ''
    await signInToConsent(server, browser, client, second, { prompt: 'login' })
    expect(browser.cookies.get('authcode_session')).not.toBe(firstSession)
    // The first user's consent page is bound to her session, which is gone.
    expect((await browser.post(`${firstConsent.url}/consent`, { csrf: firstConsent.csrf, decision: 'approve' })).status).toBe(403)
    // Her old session cookie, replayed, signs nobody in.
    const replay = new Browser()
    replay.cookies.set('authcode_session', firstSession)
    expect(await (await replay.get(`${server.url}/account`)).text()).toContain('<h1>Sign in</h1>')
  })
})

describe('SECURITY.md 31: anonymous requests cannot make the server store unbounded data', () => {
  it('/authorize from one address starts at most rateLimit.interactionsPerIp interactions, then temporarily_unavailable', async () => {
    const server = await startServer({ rateLimit: { interactionsPerIp: { max: 20, window: 900 } } })
    try {
      const client = await server.addClient()
      const big = 'x'.repeat(7000)
      const locations: string[] = []
      for (let i = 0; i < 30; i++) {
        const response = await fetch(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, state: big, nonce: big })}`, {
          redirect: 'manual',
        })
        locations.push(response.headers.get('location') ?? '')
      }
      expect(locations.filter((location) => location.startsWith('/interaction/')).length).toBe(20)
      const refused = new URL(locations.at(-1) ?? '')
      expect(refused.searchParams.get('error')).toBe('temporarily_unavailable')
      expect(refused.searchParams.get('state')).toBe(big)
      expect(rows(server, 'SELECT count(*) AS n FROM interactions')[0]?.n).toBe(20)
    } finally {
      await server.close()
    }
  })
})

describe('SECURITY.md 30: cookies and forms', () => {
  let server: TestServer
  let client: TestClient
  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
  })
  afterAll(() => server.close())

  it('a planted browser cookie the server never issued cannot forge a sign-out with Origin: null', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    await signInToConsent(server, browser, client, user)
    const session = browser.cookies.get('authcode_session')
    // The attacker plants a binding of their own choosing (cookie tossing from a sibling subdomain)
    // and computes the form token from it.
    const planted = randomToken()
    browser.cookies.set('authcode_browser', planted)
    const csrf = createHmac('sha256', planted).update('authcode form token').digest('base64url')
    const forged = await browser.post(`${server.url}/account/logout`, { csrf }, { origin: 'null', 'sec-fetch-site': 'cross-site' })
    expect(forged.status).toBe(403)
    const forgedNoFetchMetadata = await browser.post(`${server.url}/account/logout`, { csrf }, { origin: 'null' })
    expect(forgedNoFetchMetadata.status).toBe(403)
    expect(browser.cookies.get('authcode_session')).toBe(session)
    expect(await server.store.getLoginSession(hashToken(session ?? ''), server.clock.now())).toBeDefined()
  })

  it('a form without Origin passes only with Sec-Fetch-Site: same-origin', async () => {
    const browser = new Browser()
    const csrf = hiddenInput(await (await browser.get(`${server.url}/account`)).text(), 'csrf')
    const form = { csrf, username: 'nobody', password: 'x' }
    expect((await browser.post(`${server.url}/account/login`, form, { 'sec-fetch-site': 'same-site' })).status).toBe(403)
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const bare = await fetch(`${server.url}/account/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    })
    expect(bare.status).toBe(403)
    expect((await browser.post(`${server.url}/account/login`, form)).status).toBe(401)
  })

  it('under an https issuer the cookies carry the __Host- prefix (Secure, Path=/)', async () => {
    const https = await startServer({ issuer: 'https://auth.example.test' })
    try {
      const target = await https.addClient()
      const response = await https.app.inject({
        method: 'GET',
        url: `/authorize?${authorizeQuery(target, { code_challenge: pkcePair().challenge })}`,
      })
      expect(response.statusCode).toBe(303)
      const setCookie = [response.headers['set-cookie'] ?? []].flat()
      expect(setCookie.length).toBeGreaterThan(0)
      for (const line of setCookie) {
        expect(line).toMatch(/^__Host-authcode_\w+=/)
        expect(line).toMatch(/; Secure/i)
        expect(line).toMatch(/; Path=\/(;|$)/)
      }
    } finally {
      await https.close()
    }
  })
})
