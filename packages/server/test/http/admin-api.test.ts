/**
 * The admin API over HTTP (issue #20): its own listener with an admin token, each resource, and the
 * security effect of each change proven with the requests a browser or a client makes to the public
 * port. Every answer of the admin API in this file is checked against the OpenAPI document: the
 * documented status for its operation, and a body that validates against the documented schema.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AdminContext } from '../../src/admin/context.js'
import { createAdminToken, listAdminTokens, revokeAdminToken } from '../../src/admin/tokens.js'
import type { AuditEvent } from '../../src/http/audit.js'
import { buildAdminApp, registeredAdminRoutes } from '../../src/http/admin-app.js'
import { Metrics } from '../../src/http/metrics.js'
import { expectOAuthError, introspect, refresh, userinfoStatus } from '../back-channel.js'
import { runCli, startServe } from '../cli-process.js'
import { header, rawRequest } from '../raw-http.js'
import { Browser, authorize, authorizeQuery, basicAuth, freePort, locationOf, obtainTokens, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

type Json = Record<string, unknown>

let server: TestServer
let adminApp: FastifyInstance
let adminUrl: string
let token: string
const TOKEN_NAME = 'ci-pipeline'
const auditEvents: AuditEvent[] = []
const logLines: Json[] = []
const metrics = new Metrics()
const adminPort = (): number => Number(new URL(adminUrl).port)

/** The service over the test server, for what the CLI would do (make and revoke admin tokens). */
const cli = (): AdminContext => ({ store: server.store, keys: server.keys, config: server.config, now: server.clock.now, events: { emit: () => {} }, actor: 'cli' })

const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Json)
    done()
  },
})

beforeAll(async () => {
  const deps = { onEvent: (event: Readonly<AuditEvent>) => void auditEvents.push(event), metrics, logStream }
  server = await startServer({ logLevel: 'info', rateLimit: { adminAuth: { max: 10, window: 60 } } }, { deps })
  adminApp = await buildAdminApp(server.config, { store: server.store, keys: server.keys, now: server.clock.now, ...deps })
  await adminApp.listen({ port: 0, host: '127.0.0.1' })
  adminUrl = `http://127.0.0.1:${(adminApp.server.address() as { port: number }).port}`
  token = (await createAdminToken(cli(), TOKEN_NAME)).token
})

afterAll(async () => {
  await adminApp?.close()
  await server?.close()
})

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, and every answer held against it

interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Json }> }>
}

let documentCache: Json | undefined
const validators = new Map<string, ValidateFunction>()

async function openApi(): Promise<Json> {
  if (documentCache === undefined) {
    const response = await fetch(`${adminUrl}/admin/openapi.json`, { headers: { authorization: `Bearer ${token}` } })
    expect(response.status).toBe(200)
    documentCache = (await response.json()) as Json
  }
  return documentCache
}

const schemas = (document: Json) => (document.components as { schemas: Record<string, Json> }).schemas

/** A documented schema with its `$ref`s replaced by the components they name. */
function inline(schema: unknown, document: Json): unknown {
  if (Array.isArray(schema)) return schema.map((item) => inline(item, document))
  if (schema === null || typeof schema !== 'object') return schema
  const ref = (schema as { $ref?: unknown }).$ref
  if (typeof ref === 'string') return inline(schemas(document)[ref.replace('#/components/schemas/', '')], document)
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, inline(value, document)]))
}

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true })

/** The documented operation matching `method` and a concrete `path`. */
function operationOf(document: Json, method: string, path: string): { template: string; operation: Operation } | undefined {
  const paths = document.paths as Record<string, Record<string, Operation>>
  for (const [template, operations] of Object.entries(paths)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+').replaceAll('.', '\\.')}$`)
    const operation = operations[method.toLowerCase()]
    if (operation !== undefined && pattern.test(path)) return { template, operation }
  }
  return undefined
}

/** Asserts that the answer is one the document gives for this operation, its body valid against the schema it names. */
async function expectDocumented(method: string, path: string, status: number, contentType: string | null, body: unknown): Promise<void> {
  const document = await openApi()
  const found = operationOf(document, method, path.split('?')[0] ?? '')
  if (found === undefined) return // an undocumented route: answered 404 or 405, checked where it is sent
  const response = found.operation.responses[String(status)]
  expect(response, `${method} ${found.template} documents ${status}`).toBeDefined()
  const resolved = response?.$ref === undefined ? response : (document.components as { responses: Record<string, Operation['responses'][string]> }).responses[response.$ref.split('/').pop() ?? '']
  const [[mediaType, media] = []] = Object.entries(resolved?.content ?? {})
  if (mediaType === undefined) {
    expect(body).toBeUndefined()
    return
  }
  expect(contentType?.split(';')[0]).toBe(mediaType)
  const key = `${method} ${found.template} ${status}`
  let validate = validators.get(key)
  if (validate === undefined) {
    validate = ajv.compile(inline(media?.schema, document) as object)
    validators.set(key, validate)
  }
  expect(validate(body), `${key}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(body)}`).toBe(true)
}

interface Answer {
  status: number
  headers: Headers
  body: Json & Json[]
}

/**
 * A request to the admin API: `body` is sent as JSON unless `raw` gives the bytes and type; the
 * admin token unless `headers` set Authorization. The answer is held against the document.
 */
async function api(method: string, path: string, body?: unknown, options: { headers?: Record<string, string>; raw?: { type?: string; data: string | Uint8Array } } = {}): Promise<Answer> {
  // An empty value leaves the header out.
  const headers = Object.fromEntries(Object.entries({ authorization: `Bearer ${token}`, ...options.headers }).filter(([, value]) => value !== ''))
  let payload: string | Uint8Array | undefined
  if (options.raw !== undefined) {
    payload = options.raw.data
    if (options.raw.type !== undefined) headers['content-type'] = options.raw.type
  } else if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  const response = await fetch(`${adminUrl}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) })
  const text = await response.text()
  expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(500)
  const parsed = text === '' ? undefined : (JSON.parse(text) as Json & Json[])
  if (response.status >= 400) expectProblem(response, parsed)
  if (method !== 'HEAD') await expectDocumented(method, path, response.status, response.headers.get('content-type'), parsed)
  return { status: response.status, headers: response.headers, body: parsed as Json & Json[] }
}

/** RFC 9457: every refusal is a problem document of the answer's status. */
function expectProblem(response: Response, body: Json | undefined): void {
  expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
  expect(body).toMatchObject({ status: response.status, type: expect.stringMatching(/^https:\/\/authcode\.dev\/problems\/\w+$/), title: expect.any(String), detail: expect.any(String) })
  expect(response.headers.get('cache-control')).toBe('no-store')
}

async function expectInvalid(answer: Answer | Promise<Answer>, field: string | undefined, status = 400): Promise<Json> {
  const { status: got, body } = await answer
  expect({ status: got, body }).toMatchObject({ status, body: { status } })
  expect(body.field).toBe(field)
  return body
}

// ---------------------------------------------------------------------------------------------
// helpers for the public port

async function createClientViaApi(metadata: Json = {}): Promise<TestClient & { json: Json }> {
  const created = await api('POST', '/admin/clients', { client_name: 'Made by the API', redirect_uris: ['https://api-made.test/cb'], first_party: true, ...metadata })
  expect(created.status).toBe(201)
  const clientId = String(created.body.client_id)
  const record = await server.store.getClient(clientId)
  if (record === undefined) throw new Error('the created client is not in the store')
  return { record, clientId, secret: (created.body.client_secret as string | undefined) ?? null, redirectUri: (created.body.redirect_uris as string[])[0] ?? '', json: created.body }
}

async function createUserViaApi(): Promise<{ id: string; username: string; password: string }> {
  const username = `api-${Math.random().toString(36).slice(2, 10)}`
  const password = 'a long enough password'
  const created = await api('POST', '/admin/users', { username, password, name: 'Ada Admin', email: `${username}@example.com`, email_verified: true })
  expect(created.status).toBe(201)
  return { id: String(created.body.id), username, password }
}

/** GET /authorize in `browser`: where it lands, the client's callback or the login page. */
async function authorizeLandsOn(browser: Browser, client: TestClient): Promise<'callback' | 'login' | 'consent'> {
  let response = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
  for (let hops = 0; hops < 5; hops++) {
    if (response.status < 300 || response.status >= 400) break
    const next = locationOf(response, server.url)
    if (!next.startsWith(server.url)) return 'callback'
    response = await browser.get(next)
  }
  const html = await response.text()
  return html.includes('name="password"') ? 'login' : 'consent'
}

/** An introspection-authenticated call: 200 when the client's secret is accepted, 401 otherwise. */
const authenticatesWith = (clientId: string, secret: string) => postForm(`${server.url}/introspect`, { token: 'anything' }, { authorization: basicAuth(clientId, secret) })

/** What `find` returns once it returns something: log lines of a child process arrive when they are flushed. */
async function eventually<T>(find: () => T | undefined, timeoutMs = 5_000): Promise<T | undefined> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const found = find()
    if (found !== undefined) return found
  }
  return find()
}

// ---------------------------------------------------------------------------------------------

describe('the admin API: its own listener, never the public port', () => {
  it('the public port has no /admin route, with or without the token', async () => {
    for (const path of ['/admin/clients', '/admin/users', '/admin/keys', '/admin/openapi.json']) {
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
      expect(response.status, path).toBe(404)
      expect(await response.text()).not.toContain('client_id')
    }
    const posted = await fetch(`${server.url}/admin/clients`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' })
    expect(posted.status).toBe(404)
  })

  it('authcode serve --admin-port: a listener on loopback beside the public one, announced in the log; a token from admin-token create works on it alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authcode-admin-serve-'))
    try {
      const [port, adminPort] = [await freePort(), await freePort()]
      const made = await runCli(dir, ['admin-token', 'create', '--name', 'deploy', '--json'])
      expect(made.code, made.stderr).toBe(0)
      const adminToken = String((JSON.parse(made.stdout) as Json).token)
      const served = await startServe(dir, ['--port', String(port), '--admin-port', String(adminPort)], { env: { AUTHCODE_LOG_FORMAT: 'json' } })
      try {
        const announced = await eventually(() => served.logs<{ level: number; msg: string; admin?: string }>().find((line) => line.admin !== undefined))
        expect(announced?.admin).toBe(`http://127.0.0.1:${adminPort}/admin`)
        const clients = await fetch(`http://127.0.0.1:${adminPort}/admin/clients`, { headers: { authorization: `Bearer ${adminToken}` } })
        expect(clients.status).toBe(200)
        expect(await clients.json()).toEqual([])
        expect((await fetch(`http://127.0.0.1:${adminPort}/admin/clients`)).status).toBe(401)
        expect((await fetch(`http://localhost:${port}/admin/clients`, { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(404)
        // Made over the API, registered on the running server: the public port knows it at once.
        const created = await fetch(`http://127.0.0.1:${adminPort}/admin/clients`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ client_name: 'Deployed', redirect_uris: ['https://deployed.test/cb'] }),
        })
        expect(created.status).toBe(201)
        const { client_id: clientId, client_secret: secret } = (await created.json()) as { client_id: string; client_secret: string }
        expect((await postForm(`http://localhost:${port}/introspect`, { token: 'x' }, { authorization: basicAuth(clientId, secret) })).status).toBe(200)
        // The audit line of the change names the token, as every other event line of the server is written.
        const event = await eventually(() => served.logs<{ level: number; msg: string; event?: string; actor?: string; client_id?: string }>().find((line) => line.event === 'admin.client_created'))
        expect(event).toMatchObject({ actor: 'admin_token:deploy', client_id: clientId, msg: 'admin.client_created' })
        expect(served.stdout()).not.toContain(adminToken)
        expect(served.stdout()).not.toContain(secret)
      } finally {
        await served.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('the admin API: every request needs an admin token (RFC 6750)', () => {
  it('no Authorization header: 401 with a Bearer challenge and no error code (RFC 6750 §3.1), on every path, known or not', async () => {
    for (const [method, path] of [
      ['GET', '/admin/clients'],
      ['GET', '/admin/openapi.json'],
      ['POST', '/admin/keys/rotate'],
      ['GET', '/admin/nothing-here'],
      ['PUT', '/admin/clients'],
    ] as const) {
      const answer = await api(method, path, undefined, { headers: { authorization: '' } })
      expect(answer.status, `${method} ${path}`).toBe(401)
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="authcode admin"')
    }
  })

  it('malformed, unknown and revoked tokens: 401 invalid_token; a revoked token stops working at once', async () => {
    const spare = await createAdminToken(cli(), 'spare')
    expect((await api('GET', '/admin/keys', undefined, { headers: { authorization: `Bearer ${spare.token}` } })).status).toBe(200)
    await revokeAdminToken(cli(), 'spare')
    for (const authorization of [`Bearer ${spare.token}`, `Bearer ${spare.token.slice(0, -1)}A`, `Basic ${Buffer.from(`x:${token}`).toString('base64')}`, `Bearer ${token} extra`, `Bearer`, token]) {
      const answer = await api('GET', '/admin/clients', undefined, { headers: { authorization } })
      expect(answer.status, authorization.slice(0, 12)).toBe(401)
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="authcode admin", error="invalid_token"')
      expect(JSON.stringify(answer.body)).not.toContain(spare.token)
    }
    // The scheme is case-insensitive (RFC 9110 §11.1).
    expect((await api('GET', '/admin/clients', undefined, { headers: { authorization: `bearer ${token}` } })).status).toBe(200)
  })

  it('the token is recorded as used; its name is the actor of the changes made with it', async () => {
    const before = (await listAdminTokens(cli())).find((t) => t.name === TOKEN_NAME)
    server.clock.advance(5)
    await api('GET', '/admin/users')
    const after = (await listAdminTokens(cli())).find((t) => t.name === TOKEN_NAME)
    expect(after?.last_used_at).toBe(server.clock.now())
    expect(after?.last_used_at).not.toBe(before?.last_used_at)
  })

  it('SECURITY.md 26: wrong tokens are throttled per caller address (429, Retry-After), and a valid token is never refused by the count', async () => {
    const wrong = { authorization: 'Bearer wrong-token-from-a-guesser' }
    const statuses: number[] = []
    // The limit of this server is 10 failures a minute; the test before made 6 of them already.
    for (let i = 0; i < 8; i++) statuses.push((await api('GET', '/admin/users', undefined, { headers: wrong })).status)
    expect(statuses).toContain(401)
    expect(statuses.at(-1)).toBe(429)
    const throttled = await api('GET', '/admin/users', undefined, { headers: wrong })
    expect(throttled.status).toBe(429)
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await api('GET', '/admin/users')).status).toBe(200)
    // Each refusal past the limit is still a failed authentication in the audit trail, saying so.
    expect(auditEvents.at(-1)).toMatchObject({ event: 'admin.auth_failed', reason: 'throttled' })
    server.clock.advance(61)
    expect((await api('GET', '/admin/users', undefined, { headers: wrong })).status).toBe(401)
  })

  it('each failed authentication is one admin.auth_failed audit event (event hook and log line) with its reason and never the token; a valid token makes none', async () => {
    // A fresh throttle window: these are refused as 401, not 429.
    server.clock.advance(61)
    const probe = 'Bearer wrong-admin-token-probe-0123456789'
    for (const [authorization, reason] of [
      ['', 'no_credentials'],
      [probe, 'bad_credentials'],
      // Malformed: not a Bearer b64token, though it holds the valid token.
      [`Bearer ${token} extra`, 'no_credentials'],
      [`Basic ${Buffer.from(`admin:${token}`).toString('base64')}`, 'no_credentials'],
    ] as const) {
      const [events, lines] = [auditEvents.length, logLines.length]
      const answer = await api('GET', '/admin/clients', undefined, { headers: { authorization } })
      expect(answer.status, reason).toBe(401)
      const emitted = auditEvents.slice(events)
      expect(emitted, `${reason}: ${authorization.slice(0, 10)}`).toEqual([
        { event: 'admin.auth_failed', time: expect.any(String), client_id: null, user_id: null, ip: '127.0.0.1', request_id: answer.headers.get('x-request-id'), reason },
      ])
      const logged = logLines.slice(lines).filter((line) => line.event !== undefined)
      expect(logged).toEqual([expect.objectContaining({ level: 40, msg: 'admin.auth_failed', event: 'admin.auth_failed', reason, ip: '127.0.0.1', request_id: answer.headers.get('x-request-id') })])
      const written = JSON.stringify([emitted, logged])
      for (const secret of [token, 'wrong-admin-token-probe', token.slice(0, 8), Buffer.from(`admin:${token}`).toString('base64').slice(0, 12)]) expect(written).not.toContain(secret)
    }
    const events = auditEvents.length
    expect((await api('GET', '/admin/clients')).status).toBe(200)
    expect(auditEvents.slice(events)).toEqual([])
  })

  it('SECURITY.md 23: no log line holds an admin token, a client secret or a password', () => {
    const log = JSON.stringify(logLines)
    expect(logLines.some((line) => line.msg === 'admin API: authentication failed')).toBe(true)
    expect(log).not.toContain(token)
    expect(log).not.toContain('wrong-token-from-a-guesser')
  })
})

describe('the admin API: clients', () => {
  it('POST /admin/clients: 201 with the client and its secret, once, and its Location; the client completes a code flow on the public port', async () => {
    const client = await createClientViaApi()
    expect(client.json).toMatchObject({ client_name: 'Made by the API', token_endpoint_auth_method: 'client_secret_basic', response_types: ['code'], client_secret_expires_at: 0 })
    expect(client.secret).toMatch(/^[\w-]{40,}$/)
    const shown = await api('GET', `/admin/clients/${client.clientId}`)
    expect(shown.status).toBe(200)
    expect(shown.body).not.toHaveProperty('client_secret')
    expect(shown.body).toEqual(Object.fromEntries(Object.entries(client.json).filter(([key]) => !key.startsWith('client_secret'))))
    const listed = await api('GET', '/admin/clients')
    expect(listed.body.find((c) => c.client_id === client.clientId)).toEqual(shown.body)
    expect(JSON.stringify(listed.body)).not.toContain(client.secret ?? '')

    const user = await createUserViaApi()
    const { tokens } = await obtainTokens(server, client, user)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)
    expect(await introspect(server, client, String(tokens.refresh_token))).toMatchObject({ active: true, client_id: client.clientId, sub: user.id })
  })

  it('Location names the created client', async () => {
    const created = await api('POST', '/admin/clients', { client_name: 'Located', redirect_uris: ['https://located.test/cb'], token_endpoint_auth_method: 'none' })
    expect(created.status).toBe(201)
    expect(created.body).not.toHaveProperty('client_secret')
    expect(created.headers.get('location')).toBe(`/admin/clients/${String(created.body.client_id)}`)
    expect((await api('GET', created.headers.get('location') ?? '')).body).toMatchObject({ client_id: created.body.client_id, token_endpoint_auth_method: 'none' })
  })

  it('RFC 9700 §2.1: PATCH removes a redirect URI, and /authorize refuses it from then on (an error page, no redirect)', async () => {
    const client = await createClientViaApi({ redirect_uris: ['https://old.test/cb', 'https://new.test/cb'] })
    const user = await createUserViaApi()
    const before = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge }), user)
    expect(before.callback?.origin).toBe('https://old.test')

    const patched = await api('PATCH', `/admin/clients/${client.clientId}`, { redirect_uris: ['https://new.test/cb'], client_name: 'Moved' })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ redirect_uris: ['https://new.test/cb'], client_name: 'Moved' })

    const refused = await new Browser().get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
    expect(refused.status).toBe(400)
    expect(refused.headers.get('location')).toBeNull()
    const moved = await authorize(server, new Browser(), authorizeQuery({ ...client, redirectUri: 'https://new.test/cb' }, { code_challenge: pkcePair().challenge }), user)
    expect(moved.callback?.origin).toBe('https://new.test')
  })

  it('POST /admin/clients/{id}/secret: the new secret works and the one before fails at once', async () => {
    const client = await createClientViaApi()
    const old = client.secret ?? ''
    expect((await authenticatesWith(client.clientId, old)).status).toBe(200)
    const rotated = await api('POST', `/admin/clients/${client.clientId}/secret`)
    expect(rotated.status).toBe(200)
    expect(rotated.body).not.toHaveProperty('previous_secret_expires_at')
    const fresh = String(rotated.body.client_secret)
    expect(fresh).not.toBe(old)
    await expectOAuthError(await authenticatesWith(client.clientId, old), 401, 'invalid_client')
    expect((await authenticatesWith(client.clientId, fresh)).status).toBe(200)
    // Shown only in the answer of the rotation.
    expect((await api('GET', `/admin/clients/${client.clientId}`)).body).not.toHaveProperty('client_secret')
  })

  it('with {"grace": 300}: the one before works until the grace period ends on the clock, then fails', async () => {
    const client = await createClientViaApi()
    const old = client.secret ?? ''
    const rotated = await api('POST', `/admin/clients/${client.clientId}/secret`, { grace: 300 })
    expect(rotated.body.previous_secret_expires_at).toBe(server.clock.now() + 300)
    const fresh = String(rotated.body.client_secret)
    expect((await authenticatesWith(client.clientId, old)).status).toBe(200)
    server.clock.advance(299)
    expect((await authenticatesWith(client.clientId, old)).status).toBe(200)
    server.clock.advance(1)
    await expectOAuthError(await authenticatesWith(client.clientId, old), 401, 'invalid_client')
    expect((await authenticatesWith(client.clientId, fresh)).status).toBe(200)
  })

  it('a public client has no secret to rotate: 400 naming client_id', async () => {
    const created = await api('POST', '/admin/clients', { client_name: 'Native', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' })
    await expectInvalid(api('POST', `/admin/clients/${String(created.body.client_id)}/secret`), 'client_id')
  })

  it('DELETE /admin/clients/{id}: 204, then 404; what was issued to it stops working', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const { tokens } = await obtainTokens(server, client, user)
    const removed = await api('DELETE', `/admin/clients/${client.clientId}`)
    expect(removed.status).toBe(204)
    expect(removed.body).toBeUndefined()
    expect((await api('GET', `/admin/clients/${client.clientId}`)).status).toBe(404)
    expect((await api('DELETE', `/admin/clients/${client.clientId}`)).status).toBe(404)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 401, 'invalid_client')
  })
})

describe('the admin API: users', () => {
  it('POST, GET, list (paged by username), with no password or hash in any answer', async () => {
    const user = await createUserViaApi()
    const shown = await api('GET', `/admin/users/${user.id}`)
    expect(shown.body).toMatchObject({ id: user.id, username: user.username, name: 'Ada Admin', email_verified: true, disabled: false })
    const page = await api('GET', `/admin/users?limit=1&after=${encodeURIComponent(user.username.slice(0, -1))}`)
    expect(page.body).toHaveLength(1)
    const all = await api('GET', '/admin/users')
    expect(all.body.map((u) => u.username)).toContain(user.username)
    expect(JSON.stringify([shown.body, all.body])).not.toMatch(/password|hash|scrypt/i)
    expect((await api('POST', '/admin/users', { username: user.username, password: 'another long password' })).status).toBe(409)
  })

  it('PATCH {"disabled": true}: the refresh token fails at once (invalid_grant), introspection is inactive, userinfo 401', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const { tokens } = await obtainTokens(server, client, user)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)

    const patched = await api('PATCH', `/admin/users/${user.id}`, { disabled: true })
    expect(patched.body).toMatchObject({ id: user.id, disabled: true })

    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    expect(await introspect(server, client, String(tokens.access_token))).toEqual({ active: false })
    expect(await introspect(server, client, String(tokens.refresh_token))).toEqual({ active: false })
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)

    expect((await api('PATCH', `/admin/users/${user.id}`, { disabled: false })).body).toMatchObject({ disabled: false })
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
  })

  it('PATCH {"password": …}: every session of the user ends; the new password signs in', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const browser = new Browser()
    await authorize(server, browser, authorizeQuery(client, { code_challenge: pkcePair().challenge }), user)
    expect(await authorizeLandsOn(browser, client)).toBe('callback')

    const patched = await api('PATCH', `/admin/users/${user.id}`, { password: 'a fresh and long password' })
    expect(patched.status).toBe(200)
    expect(JSON.stringify(patched.body)).not.toContain('a fresh and long password')

    expect(await authorizeLandsOn(browser, client)).toBe('login')
    const again = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge }), { username: user.username, password: 'a fresh and long password' })
    expect(again.callback?.searchParams.get('code')).toBeTruthy()
  })

  it('PATCH name, email, email_verified: the answer and the userinfo claims change', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const patched = await api('PATCH', `/admin/users/${user.id}`, { name: 'Ada Lovelace', email: 'ada@example.org' })
    // A new address is unverified unless the request says otherwise.
    expect(patched.body).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.org', email_verified: false })
    expect((await api('PATCH', `/admin/users/${user.id}`, { email_verified: true })).body).toMatchObject({ email_verified: true })
    const { tokens } = await obtainTokens(server, client, user)
    const claims = (await (await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${String(tokens.access_token)}` } })).json()) as Json
    expect(claims).toMatchObject({ sub: user.id, name: 'Ada Lovelace', email: 'ada@example.org', email_verified: true })
  })

  it('DELETE /admin/users/{id}: 204, then 404; the user\'s tokens stop working', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const { tokens } = await obtainTokens(server, client, user)
    expect((await api('DELETE', `/admin/users/${user.id}`)).status).toBe(204)
    expect((await api('GET', `/admin/users/${user.id}`)).status).toBe(404)
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
  })
})

describe('the admin API: grants and keys', () => {
  it('DELETE /admin/grants/{id}: the grant\'s refresh token is invalid_grant, its access token inactive and refused at userinfo', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const { tokens } = await obtainTokens(server, client, user)
    const grantId = auditEvents.find((event) => event.event === 'code.redeemed' && event.client_id === client.clientId)?.grant_id
    expect(grantId).toEqual(expect.any(String))

    expect((await api('DELETE', `/admin/grants/${grantId}`)).status).toBe(204)

    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    expect(await introspect(server, client, String(tokens.access_token))).toEqual({ active: false })
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    // Revoking again changes nothing; an unknown grant is 404.
    expect((await api('DELETE', `/admin/grants/${grantId}`)).status).toBe(204)
    expect((await api('DELETE', '/admin/grants/no-such-grant')).status).toBe(404)
  })

  it('GET /admin/keys and POST /admin/keys/rotate: new keys are published at once and sign after keys.activationDelay', async () => {
    const before = await api('GET', '/admin/keys')
    expect(before.body.some((key) => key.state === 'active')).toBe(true)
    const rotated = await api('POST', '/admin/keys/rotate')
    expect(rotated.status).toBe(200)
    const kids = rotated.body.kids as string[]
    expect(rotated.body.active_from).toBe(server.clock.now() + server.config.keys.activationDelay)
    const listed = await api('GET', '/admin/keys')
    expect(listed.body.filter((key) => kids.includes(String(key.kid))).map((key) => key.state)).toEqual(kids.map(() => 'pending'))
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] }
    expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining(kids))

    server.clock.advance(server.config.keys.activationDelay + server.config.keys.cacheTtl)
    const later = await api('GET', '/admin/keys')
    expect(later.body.filter((key) => kids.includes(String(key.kid))).map((key) => key.state)).toEqual(kids.map(() => 'active'))
    // A token signed now carries one of the new keys.
    const { tokens } = await obtainTokens(server, await createClientViaApi(), await createUserViaApi())
    const header = JSON.parse(Buffer.from(String(tokens.access_token).split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string }
    expect(kids).toContain(header.kid)
  })
})

describe('the admin API: bad input is a 4xx problem naming what is wrong, never a 5xx', () => {
  it('unknown members, wrong types and missing required members: 400 naming the field; nothing is written', async () => {
    const before = (await api('GET', '/admin/clients')).body.length
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: ['https://x.test/cb'], client_secret: 'chosen' }), 'client_secret')
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: 'https://x.test/cb' }), 'redirect_uris')
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: [42] }), 'redirect_uris')
    await expectInvalid(api('POST', '/admin/clients', { redirect_uris: ['https://x.test/cb'] }), 'client_name')
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: ['https://x.test/cb'], first_party: 'true' }), 'first_party')
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: ['https://x.test/cb'], token_endpoint_auth_method: 'magic' }), 'token_endpoint_auth_method')
    await expectInvalid(api('POST', '/admin/clients', ['an array']), undefined)
    expect((await api('GET', '/admin/clients')).body.length).toBe(before)

    const user = await createUserViaApi()
    await expectInvalid(api('PATCH', `/admin/users/${user.id}`, { disabled: 'yes' }), 'disabled')
    await expectInvalid(api('PATCH', `/admin/users/${user.id}`, { username: 'renamed' }), 'username')
    await expectInvalid(api('PATCH', `/admin/users/${user.id}`, { email_verified: 1 }), 'email_verified')
    await expectInvalid(api('PATCH', `/admin/users/${user.id}`, {}), 'user')
    await expectInvalid(api('POST', `/admin/users`, { username: 'no-password' }), 'password')
    expect((await api('GET', `/admin/users/${user.id}`)).body).toMatchObject({ disabled: false, username: user.username })
  })

  it('values the service refuses: 400 naming the field, the value never echoed for a password', async () => {
    const client = await createClientViaApi()
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: ['https://x.test/cb#fragment'] }), 'redirect_uris')
    await expectInvalid(api('POST', '/admin/clients', { client_name: 'X', redirect_uris: ['javascript:alert(1)'] }), 'redirect_uris')
    await expectInvalid(api('PATCH', `/admin/clients/${client.clientId}`, { scope: 'openid launch_missiles' }), 'scope')
    await expectInvalid(api('POST', `/admin/clients/${client.clientId}/secret`, { grace: -1 }), 'grace')
    await expectInvalid(api('POST', `/admin/clients/${client.clientId}/secret`, { grace: 1.5 }), 'grace')
    const weak = await expectInvalid(api('POST', '/admin/users', { username: 'weak-one', password: 'short1' }), 'password')
    expect(JSON.stringify(weak)).not.toContain('short1')
    await expectInvalid(api('POST', '/admin/users', { username: 'bad name!', password: 'a long enough password' }), 'username')
    await expectInvalid(api('GET', '/admin/users?limit=0'), 'limit')
    await expectInvalid(api('GET', '/admin/users?limit=many'), 'limit')
    await expectInvalid(api('GET', '/admin/users?limit=1&limit=2'), 'limit')
    await expectInvalid(api('GET', '/admin/users?sort=name'), 'sort')
    await expectInvalid(api('GET', '/admin/clients?verbose=1'), 'verbose')
  })

  it('unknown ids: 404; unknown routes: 404; another method: 405 with Allow', async () => {
    expect((await api('GET', '/admin/clients/no-such-client')).status).toBe(404)
    expect((await api('PATCH', '/admin/clients/no-such-client', { client_name: 'X' })).status).toBe(404)
    expect((await api('POST', '/admin/clients/no-such-client/secret')).status).toBe(404)
    expect((await api('GET', '/admin/users/no-such-user')).status).toBe(404)
    expect((await api('PATCH', '/admin/users/no-such-user', { name: 'X' })).status).toBe(404)
    expect((await api('DELETE', '/admin/users/no-such-user')).status).toBe(404)
    expect((await api('GET', '/admin/nothing')).status).toBe(404)
    expect((await api('GET', '/admin/clients/')).status).toBe(404)
    expect((await api('GET', '/')).status).toBe(404)
    for (const [method, path, allow] of [
      ['PUT', '/admin/clients', 'GET, HEAD, POST'],
      ['POST', '/admin/clients/some-id', 'GET, HEAD, PATCH, DELETE'],
      ['GET', '/admin/keys/rotate', 'POST'],
      ['DELETE', '/admin/openapi.json', 'GET, HEAD'],
      ['GET', '/admin/grants/some-id', 'DELETE'],
    ] as const) {
      // A body of a type nobody reads does not turn the 405 into a 415.
      const answer = await api(method, path, undefined, method === 'GET' ? {} : { raw: { type: 'text/plain', data: 'ignored' } })
      expect(answer.status, `${method} ${path}`).toBe(405)
      expect(answer.headers.get('allow')).toBe(allow)
    }
  })

  it('bodies: not JSON 415; malformed, not UTF-8, prototype keys or a body where none is taken 400; over 16 KiB 400 too', async () => {
    const path = '/admin/clients'
    expect((await api('POST', path, undefined, { raw: { type: 'application/x-www-form-urlencoded', data: 'client_name=X' } })).status).toBe(415)
    expect((await api('POST', path, undefined, { raw: { type: 'text/plain', data: '{}' } })).status).toBe(415)
    expect((await api('POST', path, undefined, { raw: { data: '{"client_name":"X"}' } })).status).toBe(415)
    const malformed = await api('POST', path, undefined, { raw: { type: 'application/json', data: '{"client_name": "my-secret-value' } })
    expect(malformed.status).toBe(400)
    expect(JSON.stringify(malformed.body)).not.toContain('my-secret-value')
    expect((await api('POST', path, undefined, { raw: { type: 'application/json', data: '' } })).status).toBe(400)
    expect((await api('POST', path, undefined, { raw: { type: 'application/json', data: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]) } })).status).toBe(400)
    expect((await api('POST', path, undefined, { raw: { type: 'application/json; charset=latin1', data: '{}' } })).status).toBe(400)
    expect((await api('POST', path, undefined, { raw: { type: 'application/json', data: '{"__proto__":{"admin":true},"client_name":"X","redirect_uris":["https://x.test/cb"]}' } })).status).toBe(400)
    await expectInvalid(api('POST', '/admin/keys/rotate', { please: true }), undefined)
    const huge = await api('POST', path, { client_name: 'X', redirect_uris: Array.from({ length: 2000 }, (_, i) => `https://x.test/cb/${i}`) })
    expect(huge.status).toBe(400)
    // Two Authorization headers are ambiguous (a proxy may keep the other one): refused.
    const repeated = await rawRequest(adminPort(), { method: 'GET', target: '/admin/clients', headers: [['authorization', `Bearer ${token}`], ['authorization', 'Bearer other']] })
    expect(repeated.status).toBe(400)
    expect(header(repeated, 'content-type')).toBe('application/problem+json; charset=utf-8')
  })

  it('any JSON value in any member of a POST or PATCH: a 2xx or a 4xx problem, never a 5xx', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    const targets: [string, string, readonly string[]][] = [
      ['POST', '/admin/clients', ['client_name', 'redirect_uris', 'scope', 'token_endpoint_auth_method', 'jwks', 'jwks_uri', 'backchannel_logout_uri', 'post_logout_redirect_uris', 'id_token_signed_response_alg']],
      ['PATCH', `/admin/clients/${client.clientId}`, ['client_name', 'redirect_uris', 'scope', 'post_logout_redirect_uris', 'backchannel_logout_uri']],
      ['POST', '/admin/users', ['username', 'password', 'name', 'email', 'email_verified']],
      ['PATCH', `/admin/users/${user.id}`, ['name', 'email', 'email_verified', 'disabled']],
      ['POST', `/admin/clients/${client.clientId}/secret`, ['grace']],
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets),
        fc.dictionary(fc.oneof(fc.constantFrom('client_name', 'redirect_uris', 'scope', 'username', 'password', 'name', 'email', 'disabled', 'grace', 'jwks'), fc.string()), fc.jsonValue(), { maxKeys: 4 }),
        async ([method, path], body) => {
          // `api` asserts the status is under 500 and the answer is documented.
          const answer = await api(method, path, body)
          expect(answer.status).toBeGreaterThanOrEqual(200)
        },
      ),
      { numRuns: 60 },
    )
  }, 60_000)
})

describe('the admin API: audit events', () => {
  it('each change is one event with the actor admin_token:NAME, in the log, the onEvent hook and the metrics of the server', async () => {
    const client = await createClientViaApi()
    const user = await createUserViaApi()
    await api('PATCH', `/admin/users/${user.id}`, { disabled: true })
    // The changes: every admin event but the refused authentications (which have no actor).
    const fromApi = auditEvents.filter((event) => event.event.startsWith('admin.') && event.event !== 'admin.auth_failed')
    const types = new Set(fromApi.map((event) => event.event))
    for (const type of ['admin.client_created', 'admin.client_updated', 'admin.client_secret_rotated', 'admin.client_removed', 'admin.user_created', 'admin.user_updated', 'admin.user_password_set', 'admin.user_disabled', 'admin.user_enabled', 'admin.user_removed', 'admin.keys_rotated', 'admin.grant_revoked']) {
      expect(types, type).toContain(type)
    }
    for (const event of fromApi) {
      expect(event.actor).toBe(`admin_token:${TOKEN_NAME}`)
      expect(event.ip).toBe('127.0.0.1')
      expect(event.request_id).toEqual(expect.any(String))
    }
    expect(fromApi.find((event) => event.event === 'admin.client_created' && event.client_id === client.clientId)).toBeDefined()
    expect(fromApi.filter((event) => event.event === 'admin.user_disabled').at(-1)).toMatchObject({ user_id: user.id, client_id: null })
    // The same events as log lines, with the request's id.
    const logged = logLines.filter((line) => String(line.event).startsWith('admin.') && line.event !== 'admin.auth_failed')
    expect(logged.map((line) => line.event)).toEqual(fromApi.map((event) => event.event))
    expect(logged.every((line) => line.actor === `admin_token:${TOKEN_NAME}` && typeof line.request_id === 'string')).toBe(true)
    expect(JSON.stringify(fromApi)).not.toMatch(/password"|secret"|hash/i)
    // And the admin routes in the server's request metrics.
    expect(await metrics.registry.metrics()).toMatch(/authcode_http_request_duration_seconds_count\{method="PATCH",route="\/admin\/users\/:id",status_code="200"\} \d+/)
  })
})

describe('the admin API: the OpenAPI 3.1 document', () => {
  it('GET /admin/openapi.json validates against the OpenAPI 3.1 schema, and its schemas are valid JSON Schema 2020-12', async () => {
    const document = await openApi()
    expect(document.openapi).toBe('3.1.0')
    const result = await new Validator().validate(structuredClone(document))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    for (const [name, schema] of Object.entries(schemas(document))) expect(() => new Ajv2020({ strict: true, allowUnionTypes: true }).compile(schema), name).not.toThrow()
    expect(document.security).toEqual([{ adminToken: [] }])
    expect((document.components as Json).securitySchemes).toMatchObject({ adminToken: { type: 'http', scheme: 'bearer' } })
  })

  it('every route the app registered is in the document, and every documented path and method is a route; other methods are 405', async () => {
    const document = await openApi()
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    const routes = registeredAdminRoutes(adminApp)
    const registered = new Set(routes.map((route) => `${route.method} ${route.url}`))
    for (const operation of documented) expect(registered, operation).toContain(operation)
    expect(documented).toHaveLength(18)
    for (const route of routes) {
      const key = `${route.method} ${route.url}`
      if (documented.includes(key)) continue
      // HEAD of a documented GET, or the 405 of another method on a documented path.
      if (route.method === 'HEAD' && documented.includes(`GET ${route.url}`)) continue
      expect(documented.some((operation) => operation.endsWith(` ${route.url}`)), key).toBe(true)
      const path = route.url.replace(/:(\w+)/g, 'x')
      const answer = await adminApp.inject({ method: route.method as 'PUT', url: path, headers: { authorization: `Bearer ${token}` } })
      expect(answer.statusCode, key).toBe(405)
    }
  })
})
