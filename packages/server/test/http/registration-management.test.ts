/**
 * Dynamic client registration over HTTP, continued (issue #21): `token` mode with initial access
 * tokens made by `authcode registration-token create` (valid, expired, revoked, missing), and RFC
 * 7592 read, update and delete at the registration_client_uri with the registration access token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AdminContext } from '../../src/admin/context.js'
import { listClients, removeClient } from '../../src/admin/clients.js'
import { createAdminToken } from '../../src/admin/tokens.js'
import { createRegistrationToken, revokeRegistrationToken } from '../../src/admin/registration-tokens.js'
import { buildAdminApp } from '../../src/http/admin-app.js'
import { hashToken } from '../../src/tokens/secrets.js'
import { expectOAuthError, expectTokens, introspect, refresh, userinfoStatus, type Json } from '../back-channel.js'
import { runCli } from '../cli-process.js'
import { obtainTokens, startServer, type TestServer } from '../harness.js'
import { asTestClient, expectRegistered, register } from './registration-requests.js'

const APP = { redirect_uris: ['https://app.example/cb'], client_name: 'Partner app', grant_types: ['authorization_code', 'refresh_token'], scope: 'openid profile' }

const admin = (server: TestServer): AdminContext => ({ store: server.store, keys: server.keys, config: server.config, now: server.clock.now, events: { emit: () => {} }, actor: 'cli' })

/** Asserts a 401 `invalid_token` JSON body with its Bearer challenge (RFC 6750 §3), not cached. */
async function expectInvalidToken(response: Response): Promise<void> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 401 })
  expect(JSON.parse(text)).toEqual({ error: 'invalid_token', error_description: expect.any(String) })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="authcode", error="invalid_token", error_description="[^"]+"$/)
}

describe('RFC 7591 §3 in token mode: an initial access token is required', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startServer({ registration: { mode: 'token' } })
  })

  afterAll(() => server.close())

  it('without a token, with a malformed or unknown one: 401 invalid_token with a Bearer challenge; nothing is registered', async () => {
    await expectInvalidToken(await register(server, APP))
    await expectInvalidToken(await register(server, APP, { authorization: 'Basic Zm9vOmJhcg==' }))
    await expectInvalidToken(await register(server, APP, { authorization: 'Bearer not a token' }))
    await expectInvalidToken(await register(server, APP, { authorization: `Bearer ${'x'.repeat(43)}` }))
    await expectInvalidToken(await register(server, APP, { authorization: `Bearer ${'x'.repeat(300)}` }))
    expect(await server.store.listClients()).toEqual([])
  })

  it('a token made by `authcode registration-token create --json` registers clients until it expires; its use is recorded', async () => {
    const made = await runCli(server.dir, ['registration-token', 'create', '--name', 'partners', '--expires-in', '3600', '--json', '--db', server.config.db])
    expect(made.code, made.stderr).toBe(0)
    const token = JSON.parse(made.stdout) as Json
    expect(token).toEqual({ id: expect.any(String), name: 'partners', token: expect.stringMatching(/^[\w-]{43}$/), created_at: expect.any(Number), expires_at: Number(token.created_at) + 3600, last_used_at: null, revoked_at: null })
    expect(made.stderr).not.toContain(String(token.token))
    expect(JSON.parse(made.stderr.trim())).toMatchObject({ event: 'admin.registration_token_created', actor: 'cli', registration_token_id: token.id })
    // Stored as a hash only.
    expect((await server.store.listRegistrationTokens())[0]?.tokenHash).toBe(hashToken(String(token.token)))

    const bearer = { authorization: `Bearer ${String(token.token)}` }
    const registered = await expectRegistered(await register(server, APP, bearer))
    expect(registered).toMatchObject({ client_name: 'Partner app', token_endpoint_auth_method: 'client_secret_basic', client_secret_expires_at: 0 })
    expect((await server.store.listRegistrationTokens())[0]?.lastUsedAt).toBe(server.clock.now())
    // Bad metadata with a good token is still refused as metadata.
    await expectOAuthError(await register(server, { redirect_uris: ['http://evil.example/cb'] }, bearer), 400, 'invalid_redirect_uri')

    const listed = await runCli(server.dir, ['registration-token', 'list', '--json', '--db', server.config.db])
    expect(JSON.parse(listed.stdout)).toEqual([{ id: token.id, name: 'partners', created_at: token.created_at, expires_at: token.expires_at, last_used_at: expect.any(Number), revoked_at: null }])
    expect(listed.stdout + (await runCli(server.dir, ['registration-token', 'list', '--db', server.config.db])).stdout).not.toContain(String(token.token))

    // An hour later the token has expired (the server's clock is the test's; it started before the CLI ran).
    server.clock.advance(3600 + 120)
    await expectInvalidToken(await register(server, APP, bearer))
  }, 60_000)

  it('a revoked token registers nothing; the clients it registered stay, listed as registered by themselves', async () => {
    const made = await createRegistrationToken(admin(server), 'ci')
    const bearer = { authorization: `Bearer ${made.token}` }
    const registered = await expectRegistered(await register(server, { ...APP, client_name: 'Before revocation' }, bearer))
    const revoked = await runCli(server.dir, ['registration-token', 'revoke', 'ci', '--json', '--db', server.config.db])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: made.id, revoked_at: expect.any(Number) })
    await expectInvalidToken(await register(server, APP, bearer))
    await expect(revokeRegistrationToken(admin(server), made.id)).rejects.toThrow(/revoked already/)
    const clients = await listClients(admin(server))
    expect(clients.find((c) => c.client_id === registered.client_id)).toMatchObject({ client_name: 'Before revocation', registered_dynamically: true, first_party: false })
    const shown = await runCli(server.dir, ['client', 'list', '--db', server.config.db])
    expect(shown.stdout).toContain(`${String(registered.client_id)}  Before revocation  (confidential, registered itself;`)
  }, 60_000)

  it('registration-token create refuses a bad name, a taken name and a bad --expires-in, in one line', async () => {
    const db = ['--db', server.config.db]
    const bad = await runCli(server.dir, ['registration-token', 'create', '--name', 'a b', ...db])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^authcode: name: 1 to 64/)
    await runCli(server.dir, ['registration-token', 'create', '--name', 'dup', ...db])
    expect((await runCli(server.dir, ['registration-token', 'create', '--name', 'dup', ...db])).stderr).toMatch(/a registration token named dup exists already/)
    const never = await runCli(server.dir, ['registration-token', 'create', '--name', 'x', '--expires-in', 'soon', ...db])
    expect(never.code).toBe(2)
    expect(never.stderr).toMatch(/--expires-in: a whole number of seconds/)
    const tooLong = await runCli(server.dir, ['registration-token', 'create', '--name', 'y', '--expires-in', String(400 * 86_400), ...db])
    expect(tooLong.code).toBe(1)
    expect(tooLong.stderr).toMatch(/expires_in: whole seconds from 1 to/)
    expect((await runCli(server.dir, ['registration-token', 'revoke', 'nobody', ...db])).stderr).toMatch(/no registration token with id or name nobody/)
  }, 60_000)

  it('serve --registration takes off, token or open; AUTHCODE_REGISTRATION_MODE likewise, checked before the start', async () => {
    const flag = await runCli(server.dir, ['serve', '--registration', 'maybe', '--db', server.config.db])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/^authcode: --registration: off, token or open/)
    const variable = await runCli(server.dir, ['serve', '--db', server.config.db], { env: { AUTHCODE_REGISTRATION_MODE: 'maybe' } })
    expect(variable.code).toBe(1)
    expect(variable.stderr).toMatch(/^authcode: AUTHCODE_REGISTRATION_MODE: must be equal to one of the allowed values/)
  }, 60_000)
})

describe('RFC 7592: the client reads, replaces and deletes its registration', () => {
  let server: TestServer
  let user: { id: string; username: string; password: string }

  beforeAll(async () => {
    server = await startServer({ registration: { mode: 'open' }, scopes: { 'files:read': 'Read your files' } })
    user = await server.addUser()
  })

  afterAll(() => server.close())

  const at = (registered: Json) => String(registered.registration_client_uri)
  const bearer = (registered: Json) => ({ authorization: `Bearer ${String(registered.registration_access_token)}` })
  const put = (registered: Json, body: unknown, headers: Record<string, string> = bearer(registered)) =>
    fetch(at(registered), { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

  it('§2.1 GET: the registered metadata, without the secret or the token; no-store', async () => {
    const registered = await expectRegistered(await register(server, APP))
    const response = await fetch(at(registered), { headers: bearer(registered) })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const read = (await response.json()) as Json
    const { client_secret: _secret, registration_access_token: _token, ...rest } = registered
    expect(read).toEqual(rest)
  })

  it('§2.1: a missing, wrong or another client\'s token, and an unknown client, are 401 invalid_token alike', async () => {
    const a = await expectRegistered(await register(server, APP))
    const b = await expectRegistered(await register(server, APP))
    await expectInvalidToken(await fetch(at(a)))
    await expectInvalidToken(await fetch(at(a), { headers: { authorization: 'Bearer wrong' } }))
    await expectInvalidToken(await fetch(at(a), { headers: bearer(b) }))
    await expectInvalidToken(await fetch(`${server.url}/register/no-such-client`, { headers: bearer(a) }))
    await expectInvalidToken(await fetch(at(a), { method: 'DELETE', headers: bearer(b) }))
    await expectInvalidToken(await put(a, { ...APP, client_id: a.client_id }, bearer(b)))
    // Nothing changed.
    expect((await server.store.getClient(String(a.client_id)))?.name).toBe('Partner app')
  })

  it('§2.1: a client the operator registered has no registration access token, so nothing opens its registration', async () => {
    const operators = await server.addClient({ name: 'Shop' })
    await expectInvalidToken(await fetch(`${server.url}/register/${operators.clientId}`, { headers: { authorization: `Bearer ${operators.secret ?? ''}` } }))
  })

  it('§2.2 PUT replaces the metadata, validated as a registration; omitted fields take their defaults; the secret stays', async () => {
    const registered = await expectRegistered(await register(server, { ...APP, post_logout_redirect_uris: ['https://app.example/bye'] }))
    const client = asTestClient(registered)
    const response = await put(registered, {
      client_id: registered.client_id,
      client_secret: registered.client_secret,
      redirect_uris: ['https://app.example/new'],
      client_name: 'Renamed',
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'openid files:read',
      // Echoed back from a read: ignored.
      registration_client_uri: registered.registration_client_uri,
      client_id_issued_at: registered.client_id_issued_at,
    })
    expect(response.status).toBe(200)
    const updated = (await response.json()) as Json
    expect(updated).toMatchObject({
      client_id: registered.client_id,
      client_name: 'Renamed',
      redirect_uris: ['https://app.example/new'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'openid files:read',
      // Omitted: back to the defaults of RFC 7591 §2.
      grant_types: ['authorization_code'],
      post_logout_redirect_uris: [],
      client_secret_expires_at: 0,
    })
    expect(updated).not.toHaveProperty('client_secret')
    // The old redirect URI is refused from now on; the secret still works at the new one.
    const stored = await server.store.getClient(client.clientId)
    expect(stored).toMatchObject({ redirectUris: ['https://app.example/new'], secretHash: hashToken(client.secret ?? ''), registeredDynamically: true })
    const { tokens } = await obtainTokens(server, { ...client, redirectUri: 'https://app.example/new' }, user, { scope: 'openid files:read' })
    expect(tokens.scope).toBe('openid files:read')
  })

  it('§2.2 PUT refuses bad metadata with the registration errors, another client_id, a wrong secret, and a public/confidential switch', async () => {
    const registered = await expectRegistered(await register(server, APP))
    const id = registered.client_id
    await expectOAuthError(await put(registered, { ...APP, client_id: id, redirect_uris: ['javascript:alert(1)'] }), 400, 'invalid_redirect_uri')
    await expectOAuthError(await put(registered, { ...APP, client_id: id, scope: 'openid admin' }), 400, 'invalid_client_metadata')
    await expectOAuthError(await put(registered, { ...APP, client_id: id, grant_types: ['client_credentials'] }), 400, 'invalid_client_metadata')
    await expectOAuthError(await put(registered, { ...APP }), 400, 'invalid_client_metadata')
    await expectOAuthError(await put(registered, { ...APP, client_id: 'someone-else' }), 400, 'invalid_client_metadata')
    await expectOAuthError(await put(registered, { ...APP, client_id: id, client_secret: 'my-own-choice' }), 400, 'invalid_client_metadata')
    await expectOAuthError(await put(registered, { ...APP, client_id: id, token_endpoint_auth_method: 'none' }), 400, 'invalid_client_metadata')
    await expectOAuthError(await put(registered, { ...APP, client_id: id, first_party: true }), 400, 'invalid_client_metadata')
    await expectOAuthError(await fetch(at(registered), { method: 'PUT', headers: { ...bearer(registered), 'content-type': 'application/json' }, body: '[' }), 400, 'invalid_client_metadata')
    expect(await server.store.getClient(String(id))).toMatchObject({ name: 'Partner app', redirectUris: APP.redirect_uris, firstParty: false })
  })

  it('§2.2 PUT replaces web_origins (public clients only), held to the rules of the operator\'s clients; omitted, they are none', async () => {
    const spa = await expectRegistered(await register(server, { redirect_uris: ['https://login.spa.example/cb'], token_endpoint_auth_method: 'none', web_origins: ['https://app.spa.example'] }))
    const id = spa.client_id
    const spaApp = { redirect_uris: ['https://login.spa.example/cb'], token_endpoint_auth_method: 'none', client_id: id }
    const replaced = await put(spa, { ...spaApp, web_origins: ['https://next.spa.example', 'http://127.0.0.1:8080'] })
    expect(replaced.status).toBe(200)
    expect(((await replaced.json()) as Json).web_origins).toEqual(['https://next.spa.example', 'http://127.0.0.1:8080'])
    expect((await server.store.getClient(String(id)))?.webOrigins).toEqual(['https://next.spa.example', 'http://127.0.0.1:8080'])
    for (const bad of [['https://next.spa.example/app'], ['http://next.spa.example'], 'https://next.spa.example']) {
      await expectOAuthError(await put(spa, { ...spaApp, web_origins: bad }), 400, 'invalid_client_metadata')
    }
    expect((await server.store.getClient(String(id)))?.webOrigins).toEqual(['https://next.spa.example', 'http://127.0.0.1:8080'])
    const cleared = await put(spa, spaApp)
    expect(((await cleared.json()) as Json).web_origins).toEqual([])
    expect((await server.store.getClient(String(id)))?.webOrigins).toEqual([])

    const confidential = await expectRegistered(await register(server, APP))
    await expectOAuthError(await put(confidential, { ...APP, client_id: confidential.client_id, web_origins: ['https://app.example'] }), 400, 'invalid_client_metadata')
    expect((await server.store.getClient(String(confidential.client_id)))?.webOrigins).toEqual([])
  })

  it('a host in a browser manages its registration: preflights for GET, PUT and DELETE with a Bearer token are granted to any origin, and every answer is readable, never with credentials', async () => {
    const origin = { origin: 'https://inspector.example' }
    const registered = await expectRegistered(await register(server, APP))
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const preflight = await fetch(at(registered), { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } })
      expect(preflight.status, method).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin'), method).toBe('*')
      expect(preflight.headers.get('access-control-allow-methods'), method).toBe('GET, PUT, DELETE')
      expect(preflight.headers.get('access-control-allow-headers'), method).toContain('authorization')
      expect(preflight.headers.get('access-control-allow-credentials'), method).toBeNull()
    }
    // POST and PATCH are no methods of this endpoint; nor is a header outside the list allowed.
    const odd: [string, string][] = [['POST', 'content-type'], ['PATCH', 'content-type'], ['PUT', 'x-custom']]
    for (const [method, headers] of odd) {
      const refused = await fetch(at(registered), { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': method, 'access-control-request-headers': headers } })
      expect(refused.status, method).toBe(204)
      expect(refused.headers.get('access-control-allow-origin'), method).toBeNull()
    }
    const readable = (response: Response) => {
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('access-control-expose-headers')).toContain('www-authenticate')
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    }
    const read = await fetch(at(registered), { headers: { ...origin, ...bearer(registered) } })
    expect(read.status).toBe(200)
    readable(read)
    const updated = await put(registered, { ...APP, client_id: registered.client_id, client_name: 'From a page' }, { ...origin, ...bearer(registered) })
    expect(updated.status).toBe(200)
    readable(updated)
    for (const refused of [
      await fetch(at(registered), { headers: origin }),
      await put(registered, { ...APP, client_id: registered.client_id }, { ...origin, authorization: 'Bearer wrong' }),
      await fetch(at(registered), { method: 'DELETE', headers: { ...origin, authorization: 'Bearer wrong' } }),
    ]) {
      readable(refused)
      await expectInvalidToken(refused)
    }
    const deleted = await fetch(at(registered), { method: 'DELETE', headers: { ...origin, ...bearer(registered) } })
    expect(deleted.status).toBe(204)
    readable(deleted)
  })

  it('the same under an issuer with a path (the routes\' patterns carry it)', async () => {
    const tenant = await startServer({ issuer: 'http://localhost:4999/tenant', registration: { mode: 'open' } })
    try {
      const preflight = await tenant.app.inject({
        method: 'OPTIONS',
        url: '/tenant/register/some-client',
        headers: { origin: 'https://inspector.example', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
      })
      expect(preflight.statusCode).toBe(204)
      expect(preflight.headers['access-control-allow-origin']).toBe('*')
      const refused = await tenant.app.inject({ method: 'GET', url: '/tenant/register/some-client', headers: { origin: 'https://inspector.example' } })
      expect(refused.statusCode).toBe(401)
      expect(refused.headers['access-control-allow-origin']).toBe('*')
    } finally {
      await tenant.close()
    }
  })

  it('§2.3 DELETE: 204; the client, its token and every token issued to it stop working', async () => {
    const registered = await expectRegistered(await register(server, APP))
    const client = asTestClient(registered)
    const { tokens } = await obtainTokens(server, client, user, { scope: 'openid profile' })
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)
    const response = await fetch(at(registered), { method: 'DELETE', headers: bearer(registered) })
    expect(response.status).toBe(204)
    expect(await server.store.getClient(client.clientId)).toBeUndefined()
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 401, 'invalid_client')
    await expectInvalidToken(await fetch(at(registered), { headers: bearer(registered) }))
    await expectInvalidToken(await fetch(at(registered), { method: 'DELETE', headers: bearer(registered) }))
  })

  it('a dynamically registered client is removable by the operator like any other; its registration token then opens nothing', async () => {
    const registered = await expectRegistered(await register(server, { ...APP, redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }))
    const client = asTestClient(registered)
    const { tokens } = await obtainTokens(server, client, user, { scope: 'openid profile' })
    expect(await introspect(server, asTestClient(await expectRegistered(await register(server, APP))), String(tokens.access_token))).toEqual({ active: false })
    await removeClient(admin(server), client.clientId)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    await expectInvalidToken(await fetch(at(registered), { headers: bearer(registered) }))
  })

  it('the admin API lists it with registered_dynamically and removes it like any other', async () => {
    const registered = await expectRegistered(await register(server, APP))
    const adminApp = await buildAdminApp(server.config, { store: server.store, keys: server.keys, now: server.clock.now })
    try {
      const { token } = await createAdminToken(admin(server), 'registration-test')
      const authorization = `Bearer ${token}`
      const listed = await adminApp.inject({ method: 'GET', url: '/admin/clients', headers: { authorization } })
      expect(listed.statusCode).toBe(200)
      const clients = listed.json<Json[]>()
      expect(clients.find((c) => c.client_id === registered.client_id)).toMatchObject({ registered_dynamically: true, first_party: false })
      // The response schema keeps the field for every client, the operator's too.
      for (const c of clients) expect(typeof c.registered_dynamically).toBe('boolean')
      const removed = await adminApp.inject({ method: 'DELETE', url: `/admin/clients/${String(registered.client_id)}`, headers: { authorization } })
      expect(removed.statusCode).toBe(204)
      await expectInvalidToken(await fetch(at(registered), { headers: bearer(registered) }))
    } finally {
      await adminApp.close()
    }
  })

  it('events: client.registration_updated and client.registration_deleted, without secrets', async () => {
    const seen: Json[] = []
    const watched = await startServer({ registration: { mode: 'open' } }, { deps: { onEvent: (event) => void seen.push(event as unknown as Json) } })
    try {
      const registered = await expectRegistered(await register(watched, APP))
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${String(registered.registration_access_token)}` }
      expect((await fetch(String(registered.registration_client_uri), { method: 'PUT', headers, body: JSON.stringify({ ...APP, client_id: registered.client_id }) })).status).toBe(200)
      expect((await fetch(String(registered.registration_client_uri), { method: 'DELETE', headers })).status).toBe(204)
      expect(seen.map((event) => [event.event, event.client_id])).toEqual([
        ['client.registered', registered.client_id],
        ['client.registration_updated', registered.client_id],
        ['client.registration_deleted', registered.client_id],
      ])
      const text = JSON.stringify(seen)
      for (const secret of [registered.client_secret, registered.registration_access_token]) expect(text).not.toContain(String(secret))
    } finally {
      await watched.close()
    }
  })
})

describe('refresh after PUT drops refresh_token from grant_types', () => {
  it('RFC 7592 §2.2: the client can no longer refresh (unauthorized_client)', async () => {
    const server = await startServer({ registration: { mode: 'open' } })
    try {
      const user = await server.addUser()
      const registered = await expectRegistered(await register(server, APP))
      const client = asTestClient(registered)
      const { tokens } = await obtainTokens(server, client, user, { scope: 'openid profile' })
      const rotated = await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${String(registered.registration_access_token)}` }
      const body = { ...APP, client_id: registered.client_id, grant_types: ['authorization_code'] }
      expect((await fetch(String(registered.registration_client_uri), { method: 'PUT', headers, body: JSON.stringify(body) })).status).toBe(200)
      await expectOAuthError(await refresh(server, client, String(rotated.refresh_token)), 400, 'unauthorized_client')
    } finally {
      await server.close()
    }
  })
})
