/**
 * The login suite against two account providers (issue #20, "Your own user store"): the server's
 * built-in users, and a team's own directory in a SQLite file of its own (`test/team-directory.ts`:
 * its own schema, PBKDF2 hashes, case-insensitive logins), given to `buildApp` as `accounts`.
 * Sign-in, consent, the code exchange, refresh, UserInfo and introspection behave alike over both;
 * an account disabled or removed in its store stops working at once wherever it is next seen, as
 * a disabled built-in user does (SECURITY.md 7; RFC 6749 §5.2 `invalid_grant`, RFC 7662 §2.2
 * inactive, RFC 6750 §3.1 401).
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIRROR_PASSWORD_HASH } from '../../src/protocol/accounts.js'
import { callAs, expectOAuthError, introspect, refresh, userinfoStatus, type Json } from '../back-channel.js'
import {
  Browser,
  authorize,
  authorizeQuery,
  basicAuth,
  hiddenInput,
  locationOf,
  obtainTokens,
  pkcePair,
  postForm,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'
import { TeamDirectory, readOnly } from '../team-directory.js'

type Person = { id: string; username: string; password: string }

/** A server over one account provider, and what the provider's own tools do to its accounts. */
interface Backend {
  server: TestServer
  /** A new account: its name is `Pat Example`, its address `<username>@…`, verified. */
  addUser(username?: string): Promise<Person>
  disable(person: Person): Promise<void>
  enable(person: Person): Promise<void>
  remove(person: Person): Promise<void>
  close(): Promise<void>
}

async function builtIn(): Promise<Backend> {
  const server = await startServer()
  const now = () => server.clock.now()
  return {
    server,
    addUser: (username = `person-${randomUUID().slice(0, 8)}`) => server.addUser(username, undefined, { name: 'Pat Example', email: `${username}@team.example` }),
    disable: async (person) => void (await server.store.disableUser(person.id, now())),
    enable: async (person) => void (await server.store.enableUser(person.id)),
    remove: async (person) => void (await server.store.deleteUser(person.id, server.clock.now())),
    close: () => server.close(),
  }
}

async function teamDirectory(): Promise<Backend & { directory: TeamDirectory }> {
  const dir = await mkdtemp(join(tmpdir(), 'authcode-team-'))
  const directory = new TeamDirectory(join(dir, 'people.db'))
  const server = await startServer({}, { deps: { accounts: directory } })
  return {
    server,
    directory,
    addUser: (username) => directory.add(username === undefined ? {} : { login: username }),
    // The team's tools change their own database: the server is not told.
    disable: async (person) => directory.setActive(person.id, false),
    enable: async (person) => directory.setActive(person.id, true),
    remove: async (person) => directory.remove(person.id),
    async close() {
      await server.close()
      directory.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const BACKENDS = [
  ['the built-in users', builtIn],
  ['a team directory of its own (SQLite file, PBKDF2, case-insensitive logins)', teamDirectory],
] as const

/** The interaction page a fresh `/authorize` of `browser` leads to. */
async function interactionPage(server: TestServer, browser: Browser, client: TestClient, overrides: Record<string, string> = {}): Promise<{ url: string; html: string }> {
  const response = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, ...overrides })}`)
  expect(response.status).toBe(303)
  const url = locationOf(response, server.url)
  return { url, html: await (await browser.get(url)).text() }
}

function login(browser: Browser, page: { url: string; html: string }, person: { username: string; password: string }): Promise<Response> {
  return browser.post(`${page.url}/login`, { csrf: hiddenInput(page.html, 'csrf'), username: person.username, password: person.password })
}

describe.each(BACKENDS)('the login suite over %s', (_name, start) => {
  let backend: Backend
  let server: TestServer
  let client: TestClient

  beforeAll(async () => {
    backend = await start()
    server = backend.server
    client = await server.addClient({ name: 'Photo Printer' })
  })
  afterAll(() => backend.close())

  it('RFC 6749 §4.1: login, consent, code, tokens; the ID token\'s sub is the account\'s id', async () => {
    const person = await backend.addUser()
    const browser = new Browser()
    const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: pkcePair().challenge }), person)
    expect(callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)
    expect(callback?.searchParams.get('iss')).toBe(server.url)
    const { tokens } = await obtainTokens(server, client, person)
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid profile email' })
    expect(decodeJwt(String(tokens.id_token))).toMatchObject({ sub: person.id, aud: client.clientId })
    expect(decodeJwt(String(tokens.access_token)).sub).toBe(person.id)
  })

  it('OIDC Core §5.3.2: UserInfo gives the account\'s claims, by scope', async () => {
    const person = await backend.addUser()
    const { tokens } = await obtainTokens(server, client, person)
    const response = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${String(tokens.access_token)}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      sub: person.id,
      preferred_username: person.username,
      name: 'Pat Example',
      updated_at: expect.any(Number),
      email: `${person.username}@team.example`,
      email_verified: true,
    })
    const narrow = await obtainTokens(server, client, person, { scope: 'openid' })
    const sub = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${String(narrow.tokens.access_token)}` } })
    expect(await sub.json()).toEqual({ sub: person.id })
  })

  it('OIDC Core §3.1.2.4: the consent page names the user; consent is remembered for the next request', async () => {
    const person = await backend.addUser()
    const browser = new Browser()
    const page = await interactionPage(server, browser, client)
    const consent = await (await browser.get(locationOf(await login(browser, page, person), server.url))).text()
    expect(consent).toContain('<h1>Allow access?</h1>')
    expect(consent).toContain('Pat Example')
    const approved = await browser.post(`${page.url}/consent`, { csrf: hiddenInput(consent, 'csrf'), decision: 'approve' })
    const resumed = await browser.get(locationOf(approved, server.url))
    expect(new URL(locationOf(resumed, server.url)).searchParams.get('code')).toMatch(/^[\w-]{43}$/)
    const again = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
    expect(again.status).toBe(302)
    expect(new URL(locationOf(again, server.url)).searchParams.get('code')).toMatch(/^[\w-]{43}$/)
  })

  it('RFC 6749 §10.10: a wrong password and an unknown user get the same status and page, and no session', async () => {
    const person = await backend.addUser()
    const browser = new Browser()
    const page = await interactionPage(server, browser, client)
    const wrong = await login(browser, page, { username: person.username, password: 'not the password' })
    const unknown = await login(browser, page, { username: 'nobody-at-all', password: 'not the password' })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    // Each page has a fresh passkey challenge: the rest is the same.
    const normalise = (html: string, username: string) => html.replaceAll(username, 'USERNAME').replace(/&quot;challenge&quot;:&quot;[\w-]+&quot;/, 'CHALLENGE')
    expect(normalise(await unknown.text(), 'nobody-at-all')).toBe(normalise(await wrong.text(), person.username))
    expect(browser.cookies.has('authcode_session')).toBe(false)
  })

  it('SECURITY.md 27: past five failures the account waits (15 s), the right password included; an unknown account alike', async () => {
    const person = await backend.addUser()
    for (const username of [person.username, `nobody-${person.username}`]) {
      const browser = new Browser()
      const page = await interactionPage(server, browser, client)
      const statuses: number[] = []
      for (let attempt = 0; attempt < 6; attempt++) statuses.push((await login(browser, page, { username, password: `wrong ${attempt}` })).status)
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
      const waiting = await login(browser, page, { username, password: person.password })
      expect(waiting.status).toBe(429)
      expect(waiting.headers.get('retry-after')).toBe('15')
    }
  })

  it('RFC 6749 §6 / RFC 9700 §4.14.2: refresh rotates the token; the used one is refused and takes its family with it', async () => {
    const person = await backend.addUser()
    const { tokens } = await obtainTokens(server, client, person)
    const first = await refresh(server, client, String(tokens.refresh_token))
    expect(first.status).toBe(200)
    const rotated = (await first.json()) as Json
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    await expectOAuthError(await refresh(server, client, String(rotated.refresh_token)), 400, 'invalid_grant')
  })

  it('RFC 7662 §2.2: introspection says who the live tokens are for', async () => {
    const person = await backend.addUser()
    const { tokens } = await obtainTokens(server, client, person)
    expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true, sub: person.id })
    expect(await introspect(server, client, String(tokens.refresh_token))).toMatchObject({ active: true, sub: person.id })
  })

  /** Tokens, a pending code and a signed-in browser of one account, made before it is disabled or removed. */
  async function everything(person: Person) {
    const { tokens, browser } = await obtainTokens(server, client, person)
    const { verifier, challenge } = pkcePair()
    const pending = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: challenge }), person)
    const code = pending.callback?.searchParams.get('code') ?? ''
    expect(code).toMatch(/^[\w-]{43}$/)
    const redeem = () =>
      postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }, { authorization: basicAuth(client.clientId, client.secret ?? '') })
    return { tokens, browser, redeem }
  }

  /** Each place a dead account is seen, each proven on its own as the first to see it. */
  const observers = {
    'the token endpoint, a refresh': async (seen: Awaited<ReturnType<typeof everything>>) =>
      expectOAuthError(await refresh(server, client, String(seen.tokens.refresh_token)), 400, 'invalid_grant'),
    'the token endpoint, a code issued before': async (seen: Awaited<ReturnType<typeof everything>>) => expectOAuthError(await seen.redeem(), 400, 'invalid_grant'),
    'UserInfo': async (seen: Awaited<ReturnType<typeof everything>>) => expect(await userinfoStatus(server, String(seen.tokens.access_token))).toBe(401),
    'introspection of the access token': async (seen: Awaited<ReturnType<typeof everything>>) =>
      expect(await introspect(server, client, String(seen.tokens.access_token))).toEqual({ active: false }),
    'introspection of the refresh token': async (seen: Awaited<ReturnType<typeof everything>>) =>
      expect(await introspect(server, client, String(seen.tokens.refresh_token))).toEqual({ active: false }),
    'the browser signed in, at /authorize': async (seen: Awaited<ReturnType<typeof everything>>) => {
      const page = await interactionPage(server, seen.browser, client)
      expect(page.html).toContain('name="password"')
    },
  }

  describe.each(['disabled', 'removed'] as const)('an account %s in its store', (change) => {
    it.each(Object.keys(observers) as (keyof typeof observers)[])('is refused first by %s, then everywhere: sign-in answers as for a wrong password', async (first) => {
      const person = await backend.addUser()
      const seen = await everything(person)
      if (change === 'disabled') await backend.disable(person)
      else await backend.remove(person)

      await observers[first](seen)
      for (const [name, observe] of Object.entries(observers)) if (name !== first) await observe(seen)
      expect(await callAs(server, '/token', client, { grant_type: 'refresh_token', refresh_token: String(seen.tokens.refresh_token) }).then((r) => r.status)).toBe(400)

      // The right password signs in nowhere, with the answer of a wrong one.
      const browser = new Browser()
      const page = await interactionPage(server, browser, client)
      const refused = await login(browser, page, person)
      expect(refused.status).toBe(401)
      expect(await refused.text()).toContain('The username or password is incorrect.')
      expect(browser.cookies.has('authcode_session')).toBe(false)
    })
  })

  it('a disabled account enabled again signs in again; what disabling ended stays ended', async () => {
    const person = await backend.addUser()
    const seen = await everything(person)
    await backend.disable(person)
    expect(await userinfoStatus(server, String(seen.tokens.access_token))).toBe(401)
    await backend.enable(person)
    const { tokens } = await obtainTokens(server, client, person)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)
    expect(await userinfoStatus(server, String(seen.tokens.access_token))).toBe(401)
    await expectOAuthError(await refresh(server, client, String(seen.tokens.refresh_token)), 400, 'invalid_grant')
  })

  it('the account page: signed in there, the name is the account\'s; a password change signs out every other browser', async () => {
    const person = await backend.addUser()
    const here = new Browser()
    const signIn = await here.get(`${server.url}/account`)
    expect((await here.post(`${server.url}/account/login`, { csrf: hiddenInput(await signIn.text(), 'csrf'), username: person.username, password: person.password })).status).toBe(303)
    const { browser: elsewhere } = await obtainTokens(server, client, person)
    const account = await (await here.get(`${server.url}/account`)).text()
    expect(account).toContain('Signed in as <span class="user">Pat Example</span>')
    const next = 'another good passphrase'
    const changed = await here.post(`${server.url}/account/password`, { csrf: hiddenInput(account, 'csrf'), current_password: person.password, new_password: next, repeat_password: next })
    expect(locationOf(changed, server.url)).toBe(`${server.url}/account?password=changed`)
    expect((await interactionPage(server, elsewhere, client)).html).toContain('name="password"')
    const { tokens } = await obtainTokens(server, client, { username: person.username, password: next })
    expect(decodeJwt(String(tokens.id_token)).sub).toBe(person.id)
  })
})

describe('a team directory: what lives where', () => {
  let backend: Awaited<ReturnType<typeof teamDirectory>>
  let server: TestServer
  let client: TestClient

  beforeAll(async () => {
    backend = await teamDirectory()
    server = backend.server
    client = await server.addClient({ name: 'Photo Printer' })
  })
  afterAll(() => backend.close())

  it('the server keeps only a mirror row (id, username, a hash no password matches, no profile), made at the first sign-in', async () => {
    const person = await backend.addUser()
    expect(await server.store.getUserById(person.id)).toBeUndefined()
    await obtainTokens(server, client, person)
    expect(await server.store.getUserById(person.id)).toMatchObject({
      id: person.id,
      username: person.username,
      passwordHash: MIRROR_PASSWORD_HASH,
      name: null,
      email: null,
      emailVerified: false,
      disabledAt: null,
    })
  })

  it('claims always come from the directory: a name changed there shows at once; a renamed login moves the mirror at the next sign-in', async () => {
    const person = await backend.addUser()
    const { tokens } = await obtainTokens(server, client, person)
    backend.directory.rename(person.id, { fullName: 'Patricia Example', login: `${person.username}-new` })
    const claims = (await (await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${String(tokens.access_token)}` } })).json()) as Json
    expect(claims).toMatchObject({ sub: person.id, name: 'Patricia Example', preferred_username: `${person.username}-new` })
    await obtainTokens(server, client, { username: `${person.username}-new`, password: person.password })
    expect((await server.store.getUserById(person.id))?.username).toBe(`${person.username}-new`)
    // A newcomer given the old login signs in as herself, with a sub of her own.
    const newcomer = await backend.directory.add({ login: person.username })
    const theirs = await obtainTokens(server, client, newcomer)
    expect(decodeJwt(String(theirs.tokens.id_token)).sub).toBe(newcomer.id)
  })

  it('SECURITY.md 27: the directory compares logins its way (without case), and every spelling counts against one account', async () => {
    const person = await backend.addUser(`Mixed-${Date.now()}`)
    const { tokens } = await obtainTokens(server, client, { username: person.username.toUpperCase(), password: person.password })
    expect(decodeJwt(String(tokens.id_token)).sub).toBe(person.id)
    const spellings = [person.username, person.username.toLowerCase(), person.username.toUpperCase()]
    const statuses: number[] = []
    for (let attempt = 0; attempt < 6; attempt++) {
      const browser = new Browser()
      const page = await interactionPage(server, browser, client)
      statuses.push((await login(browser, page, { username: spellings[attempt % 3] ?? '', password: `wrong ${attempt}` })).status)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
  })

  it('the pages greet the user by the directory\'s name: the account page, the logout confirmation', async () => {
    const person = await backend.addUser()
    backend.directory.rename(person.id, { fullName: 'Robin Directory' })
    const browser = new Browser()
    const signIn = await browser.get(`${server.url}/account`)
    await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(await signIn.text(), 'csrf'), username: person.username, password: person.password })
    expect(await (await browser.get(`${server.url}/account`)).text()).toContain('Signed in as <span class="user">Robin Directory</span>')
    const confirm = await (await browser.get(`${server.url}/logout`)).text()
    expect(confirm).toContain('name="decision" value="logout"')
    expect(confirm).toContain('Robin Directory')
  })

  it('a password change on the account page is written to the directory (its own hash)', async () => {
    const person = await backend.addUser()
    const before = backend.directory.passwordHashOf(person.id)
    const browser = new Browser()
    const signIn = await browser.get(`${server.url}/account`)
    await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(await signIn.text(), 'csrf'), username: person.username, password: person.password })
    const account = await (await browser.get(`${server.url}/account`)).text()
    const next = 'yet another passphrase'
    await browser.post(`${server.url}/account/password`, { csrf: hiddenInput(account, 'csrf'), current_password: person.password, new_password: next, repeat_password: next })
    expect(backend.directory.passwordHashOf(person.id)).not.toBe(before)
    expect(backend.directory.passwordHashOf(person.id)).toMatch(/^pbkdf2\$/)
    expect(await backend.directory.verifyPassword(person.username, next)).toMatchObject({ id: person.id })
    expect((await server.store.getUserById(person.id))?.passwordHash).toBe(MIRROR_PASSWORD_HASH)
  })
})

describe('a directory whose passwords the server may not set', () => {
  let dir: string
  let directory: TeamDirectory
  let server: TestServer

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authcode-team-'))
    directory = new TeamDirectory(join(dir, 'people.db'))
    server = await startServer({}, { deps: { accounts: readOnly(directory) } })
  })
  afterAll(async () => {
    await server.close()
    directory.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('the account page offers no password change, and its form changes nothing', async () => {
    const person = await directory.add()
    const browser = new Browser()
    const signIn = await browser.get(`${server.url}/account`)
    await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(await signIn.text(), 'csrf'), username: person.username, password: person.password })
    const account = await (await browser.get(`${server.url}/account`)).text()
    expect(account).toContain('<h1>Your account</h1>')
    expect(account).not.toContain('action="/account/password"')
    const before = directory.passwordHashOf(person.id)
    const response = await browser.post(`${server.url}/account/password`, { csrf: hiddenInput(account, 'csrf'), current_password: person.password, new_password: 'x'.repeat(12), repeat_password: 'x'.repeat(12) })
    expect(response.status).toBe(303)
    expect(locationOf(response, server.url)).toBe(`${server.url}/account`)
    expect(directory.passwordHashOf(person.id)).toBe(before)
  })
})
