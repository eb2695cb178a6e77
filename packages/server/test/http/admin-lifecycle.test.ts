/**
 * Issue #20 over HTTP: what each administrative change (the admin service the CLI and the admin
 * API call) does to users, browsers and clients of a running server. Each test makes the change
 * with the service, then proves its effect with the requests a browser or a client would make.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AdminContext } from '../../src/admin/context.js'
import { createClient, removeClient, rotateClientSecret, updateClient } from '../../src/admin/clients.js'
import { AdminError } from '../../src/admin/errors.js'
import { disableUser, enableUser, importUsers, removeUser, setUserPassword } from '../../src/admin/users.js'
import type { SecurityEvent } from '../../src/protocol/events.js'
import { passwordNeedsRehash } from '../../src/tokens/secrets.js'
import { clientAuthHeaders, expectOAuthError, introspect, refresh, userinfoStatus, type User } from '../back-channel.js'
import { ARGON2ID_REFERENCE, BCRYPT_REFERENCE } from '../fixtures/password-hashes.js'
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

let server: TestServer
let client: TestClient
const events: SecurityEvent[] = []

/** The admin service over the running server's store, key ring, configuration and clock. */
const admin = (): AdminContext => ({
  store: server.store,
  keys: server.keys,
  config: server.config,
  now: server.clock.now,
  events: { emit: (event) => void events.push(event) },
  actor: 'cli',
})

beforeAll(async () => {
  server = await startServer()
  client = await server.addClient({ name: 'Shop', firstParty: true })
})

afterAll(() => server.close())

/** GET /authorize in `browser` and the page it leads to: a login form, a consent form, or the redirect back. */
async function openAuthorize(browser: Browser, target: TestClient = client): Promise<{ page: 'login' | 'consent' | 'callback'; url: string; csrf?: string }> {
  let response = await browser.get(`${server.url}/authorize?${authorizeQuery(target, { code_challenge: pkcePair().challenge })}`)
  for (let hops = 0; response.status >= 300 && response.status < 400 && hops < 5; hops++) {
    const next = locationOf(response, server.url)
    if (!next.startsWith(server.url)) return { page: 'callback', url: next }
    response = await browser.get(next)
    if (response.status === 200) {
      const html = await response.text()
      return { page: html.includes('name="password"') ? 'login' : 'consent', url: next, csrf: hiddenInput(html, 'csrf') }
    }
  }
  throw new Error(`unexpected answer ${response.status}`)
}

/** A login page of a fresh authorization request in a new browser. */
async function loginPage(): Promise<{ browser: Browser; url: string; csrf: string }> {
  const browser = new Browser()
  const { url, csrf } = await openAuthorize(browser)
  return { browser, url, csrf: csrf ?? '' }
}

/** Submits the login form (of `page`, or of a fresh authorization request): the status and page a person would see. */
async function tryLogin(user: User, page?: { browser: Browser; url: string; csrf: string }): Promise<{ status: number; html: string }> {
  const { browser, url, csrf } = page ?? (await loginPage())
  const response = await browser.post(`${url}/login`, { csrf, username: user.username, password: user.password })
  return { status: response.status, html: response.status === 303 ? '' : await response.text() }
}

/** A login page's answer with the username taken out: what must be alike for a wrong password and a refused user. */
/** A sign-in page with the username and its fresh passkey challenge taken out. */
const normalised = (html: string, username: string) => html.replaceAll(username, 'USERNAME').replace(/&quot;challenge&quot;:&quot;[\w-]+&quot;/, 'CHALLENGE')

describe('issue #20: a disabled user', () => {
  it('loses every token at once: refresh invalid_grant, introspection inactive, userinfo 401', async () => {
    const user = await server.addUser()
    const { tokens } = await obtainTokens(server, client, user)
    const accessToken = String(tokens.access_token)
    const refreshToken = String(tokens.refresh_token)
    expect(await userinfoStatus(server, accessToken)).toBe(200)
    expect(await introspect(server, client, refreshToken)).toMatchObject({ active: true })

    await disableUser(admin(), { id: user.id })

    await expectOAuthError(await refresh(server, client, refreshToken), 400, 'invalid_grant')
    expect(await introspect(server, client, accessToken)).toEqual({ active: false })
    expect(await introspect(server, client, refreshToken)).toEqual({ active: false })
    expect(await userinfoStatus(server, accessToken)).toBe(401)
  })

  it('cannot sign in: the answer is the one of a wrong password, even with the right password', async () => {
    const user = await server.addUser()
    const page = await loginPage()
    const wrong = await tryLogin({ username: user.username, password: 'not the password' }, page)
    await disableUser(admin(), { username: user.username })
    const refused = await tryLogin(user, page)
    expect(wrong.status).toBe(401)
    expect(refused.status).toBe(wrong.status)
    expect(normalised(refused.html, user.username)).toBe(normalised(wrong.html, user.username))
  })

  it('is signed out in every browser: an existing session no longer passes /authorize, and its code is refused', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    // Signed in and consented once; the next authorization request goes straight back to the client.
    const first = await authorize(server, browser, authorizeQuery(client, { code_challenge: pkcePair().challenge }), user)
    expect(first.callback?.searchParams.get('code')).toBeTruthy()
    const { verifier, challenge } = pkcePair()
    const pending = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
    const code = pending.callback?.searchParams.get('code') ?? ''
    expect(code).not.toBe('')

    await disableUser(admin(), { id: user.id })

    expect((await openAuthorize(browser)).page).toBe('login')
    const exchange = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }, clientAuthHeaders(client))
    await expectOAuthError(exchange, 400, 'invalid_grant')
  })

  it('enabled again, signs in anew; what disabling revoked stays revoked', async () => {
    const user = await server.addUser()
    const { tokens } = await obtainTokens(server, client, user)
    await disableUser(admin(), { id: user.id })
    await enableUser(admin(), { id: user.id })
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    const again = await obtainTokens(server, client, user)
    expect(await userinfoStatus(server, String(again.tokens.access_token))).toBe(200)
  })
})

describe('issue #20: a removed user', () => {
  it('loses every token at once and cannot sign in, answered as a wrong password', async () => {
    const user = await server.addUser()
    const { tokens, browser } = await obtainTokens(server, client, user)
    const page = await loginPage()
    const wrong = await tryLogin({ username: user.username, password: 'not the password' }, page)

    await removeUser(admin(), { username: user.username })

    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    expect(await introspect(server, client, String(tokens.access_token))).toEqual({ active: false })
    expect(await introspect(server, client, String(tokens.refresh_token))).toEqual({ active: false })
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    expect((await openAuthorize(browser)).page).toBe('login')
    const refused = await tryLogin(user, page)
    expect(refused.status).toBe(wrong.status)
    expect(normalised(refused.html, user.username)).toBe(normalised(wrong.html, user.username))
  })
})

describe('issue #20: a new password', () => {
  it('ends the sessions of every browser; the old password fails, the new one works', async () => {
    const user = await server.addUser()
    const browsers = [new Browser(), new Browser()]
    for (const browser of browsers) await authorize(server, browser, authorizeQuery(client, { code_challenge: pkcePair().challenge }), user)
    for (const browser of browsers) expect((await openAuthorize(browser)).page).toBe('callback')

    await setUserPassword(admin(), { id: user.id }, 'a completely new password')

    for (const browser of browsers) expect((await openAuthorize(browser)).page).toBe('login')
    expect((await tryLogin(user)).status).toBe(401)
    expect((await tryLogin({ username: user.username, password: 'a completely new password' })).status).toBe(303)
  })
})

describe('issue #20: a rotated client secret', () => {
  const exchange = (target: TestClient, secret: string) =>
    postForm(`${server.url}/introspect`, { token: 'anything' }, { authorization: basicAuth(target.clientId, secret) })

  it('without a grace period: the previous secret is refused at once, the new one works', async () => {
    const target = await server.addClient({ name: 'Rotating' })
    const old = target.secret ?? ''
    expect((await exchange(target, old)).status).toBe(200)
    const { client_secret: fresh } = await rotateClientSecret(admin(), target.clientId)
    await expectOAuthError(await exchange(target, old), 401, 'invalid_client')
    expect((await exchange(target, fresh ?? '')).status).toBe(200)
  })

  it('with --grace: both work until the grace period ends, then only the new one', async () => {
    const target = await server.addClient({ name: 'Rolling out' })
    const old = target.secret ?? ''
    const { client_secret: fresh } = await rotateClientSecret(admin(), target.clientId, 120)
    expect((await exchange(target, old)).status).toBe(200)
    expect((await exchange(target, fresh ?? '')).status).toBe(200)
    server.clock.advance(119)
    expect((await exchange(target, old)).status).toBe(200)
    server.clock.advance(1)
    await expectOAuthError(await exchange(target, old), 401, 'invalid_client')
    expect((await exchange(target, fresh ?? '')).status).toBe(200)
  })
})

describe('issue #20: client changes', () => {
  it('RFC 9700 §2.1: a redirect URI removed by an update is refused at /authorize, and a code issued to it is no longer redeemable', async () => {
    const created = await createClient(admin(), { client_name: 'Moving', redirect_uris: ['https://old.test/cb', 'https://new.test/cb'], first_party: true })
    const target: TestClient = { record: (await server.store.getClient(created.client_id))!, clientId: created.client_id, secret: created.client_secret ?? null, redirectUri: 'https://old.test/cb' }
    const user = await server.addUser()
    const { verifier, challenge } = pkcePair()
    const issued = await authorize(server, new Browser(), authorizeQuery(target, { code_challenge: challenge }), user)
    const code = issued.callback?.searchParams.get('code') ?? ''
    expect(issued.callback?.origin).toBe('https://old.test')

    await updateClient(admin(), target.clientId, { redirect_uris: ['https://new.test/cb'] })

    const refused = await new Browser().get(`${server.url}/authorize?${authorizeQuery(target, { code_challenge: pkcePair().challenge })}`)
    expect(refused.status).toBe(400)
    expect(refused.headers.get('location')).toBeNull()
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/)
    const exchange = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: 'https://old.test/cb', code_verifier: verifier }, clientAuthHeaders(target))
    await expectOAuthError(exchange, 400, 'invalid_grant')
    // The URI kept still works.
    const moved = await authorize(server, new Browser(), authorizeQuery({ ...target, redirectUri: 'https://new.test/cb' }, { code_challenge: pkcePair().challenge }), user)
    expect(moved.callback?.origin).toBe('https://new.test')
  })

  it('a removed client: everything issued to it stops working at once', async () => {
    const target = await server.addClient({ name: 'Leaving', firstParty: true })
    const user = await server.addUser()
    const { tokens } = await obtainTokens(server, target, user)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)

    await removeClient(admin(), target.clientId)

    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    await expectOAuthError(await refresh(server, target, String(tokens.refresh_token)), 401, 'invalid_client')
    // Another client that asks about its tokens learns nothing either.
    expect(await introspect(server, client, String(tokens.access_token))).toEqual({ active: false })
  })
})

describe('issue #20: imported users', () => {
  it.each([
    ['bcrypt', BCRYPT_REFERENCE],
    ['argon2id', ARGON2ID_REFERENCE],
  ])('an imported %s user signs in, and the hash becomes scrypt', async (scheme, reference) => {
    const username = `imported-${scheme}`
    await importUsers(admin(), JSON.stringify({ username, password_hash: reference.hash, email: `${username}@example.com` }))
    expect((await tryLogin({ username, password: 'not the password' })).status).toBe(401)
    expect((await server.store.getUserByUsername(username))?.passwordHash).toBe(reference.hash)
    expect((await tryLogin({ username, password: reference.password })).status).toBe(303)
    const rehashed = (await server.store.getUserByUsername(username))?.passwordHash ?? ''
    expect(rehashed).toMatch(/^scrypt\$/)
    expect(passwordNeedsRehash(rehashed)).toBe(false)
    // And the new hash signs in too.
    expect((await tryLogin({ username, password: reference.password })).status).toBe(303)
  })

  it('a bad line imports nothing: the users of the good lines cannot sign in', async () => {
    const text = [
      JSON.stringify({ username: 'import-good', password_hash: BCRYPT_REFERENCE.hash }),
      JSON.stringify({ username: 'import-bad', password_hash: 'sha1$abc' }),
    ].join('\n')
    const error = await importUsers(admin(), text).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AdminError)
    expect(await server.store.getUserByUsername('import-good')).toBeUndefined()
    expect((await tryLogin({ username: 'import-good', password: BCRYPT_REFERENCE.password })).status).toBe(401)
  })
})

describe('issue #20: the admin events', () => {
  it('every change above was one event with the actor and the ids, never a secret', () => {
    expect(events.length).toBeGreaterThan(10)
    for (const event of events) {
      expect(event.type).toMatch(/^admin\./)
      expect(event).toHaveProperty('actor', 'cli')
    }
    // Only names and ids besides the type: no password, secret or hash in any value.
    const values = JSON.stringify(events.map(({ type: _type, ...fields }) => fields))
    expect(values).not.toMatch(/password|secret|hash|scrypt|\$2a\$|argon2/i)
  })
})
