/**
 * Registration tokens over the admin API: the initial access tokens of dynamic client
 * registration (RFC 7591 §1.2) that `authcode registration-token create|list|revoke` manages, made,
 * listed and revoked by an automation with an admin token. Proven on a server in
 * `registration.mode: token`: a token made here registers a client at /register, and once revoked
 * it is refused there. Each answer is one the OpenAPI document gives for its operation.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AdminContext } from '../../src/admin/context.js'
import { createAdminToken } from '../../src/admin/tokens.js'
import { buildAdminApp } from '../../src/http/admin-app.js'
import type { AuditEvent } from '../../src/http/audit.js'
import { hashToken } from '../../src/tokens/secrets.js'
import type { Json } from '../back-channel.js'
import { startServer, type TestServer } from '../harness.js'
import { expectRegistered, register } from './registration-requests.js'

const APP = { redirect_uris: ['https://app.example/cb'], client_name: 'Partner app', scope: 'openid profile' }
const ADMIN_TOKEN_NAME = 'provisioning'

let server: TestServer
let adminApp: FastifyInstance
let adminUrl: string
let adminToken: string
const auditEvents: AuditEvent[] = []

beforeAll(async () => {
  const onEvent = (event: Readonly<AuditEvent>) => void auditEvents.push(event)
  server = await startServer({ registration: { mode: 'token' } }, { deps: { onEvent } })
  adminApp = await buildAdminApp(server.config, { store: server.store, keys: server.keys, now: server.clock.now, onEvent })
  await adminApp.listen({ port: 0, host: '127.0.0.1' })
  adminUrl = `http://127.0.0.1:${(adminApp.server.address() as { port: number }).port}`
  const cli: AdminContext = { store: server.store, keys: server.keys, config: server.config, now: server.clock.now, events: { emit: () => {} }, actor: 'cli' }
  adminToken = (await createAdminToken(cli, ADMIN_TOKEN_NAME)).token
})

afterAll(async () => {
  await adminApp?.close()
  await server?.close()
})

let document: Json | undefined

/** The operation of the OpenAPI document at this path template and method. */
async function documented(method: string, template: string): Promise<{ responses: Record<string, unknown> } | undefined> {
  document ??= (await (await fetch(`${adminUrl}/admin/openapi.json`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as Json
  return (document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)[template]?.[method.toLowerCase()]
}

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true })

/** Asserts that `body` is valid against the document's named schema (these have no `$ref`). */
async function expectSchema(name: string, body: unknown): Promise<void> {
  await documented('GET', '/admin/registration-tokens')
  const schema = ((document?.components as Json).schemas as Record<string, object>)[name]
  if (ajv.getSchema(name) === undefined) ajv.addSchema(schema ?? {}, name)
  const validate = ajv.getSchema(name)
  expect(validate?.(body), `${name}: ${JSON.stringify(validate?.errors)}`).toBe(true)
}

interface Answer {
  status: number
  headers: Headers
  body: Json & Json[]
}

/** A request to the admin API with the admin token, `body` as JSON; a refusal must be a documented problem, never a 5xx. */
async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${adminUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await response.text()
  expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(500)
  const bare = path.split('?')[0] ?? path
  const template = bare.startsWith('/admin/registration-tokens/') ? '/admin/registration-tokens/{id}' : bare
  const operation = await documented(method, template)
  // Another method on a documented path is 405 (with Allow), undocumented by design.
  if (operation === undefined) expect(response.status, `${method} ${template}`).toBe(405)
  else expect(operation.responses, `${method} ${template} documents ${response.status}`).toHaveProperty(String(response.status))
  if (response.status >= 400) {
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    await expectSchema('Problem', JSON.parse(text))
  }
  return { status: response.status, headers: response.headers, body: (text === '' ? undefined : JSON.parse(text)) as Json & Json[] }
}

async function expectInvalid(answer: Promise<Answer>, field: string): Promise<void> {
  const { status, body } = await answer
  expect({ status, body }).toMatchObject({ status: 400, body: { status: 400, type: 'https://authcode.dev/problems/invalid', field } })
}

describe('the admin API: registration tokens (RFC 7591 initial access tokens)', () => {
  it('create → the token registers a client at /register → list shows it without its value → revoke → /register refuses it (401) → revoking again is refused', async () => {
    const events = auditEvents.length
    const created = await api('POST', '/admin/registration-tokens', { name: 'partners', expires_in: 3600 })
    expect(created.status).toBe(201)
    // The fields of registration-token create --json.
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'partners',
      token: expect.stringMatching(/^[\w-]{43}$/),
      created_at: server.clock.now(),
      expires_at: server.clock.now() + 3600,
      last_used_at: null,
      revoked_at: null,
    })
    await expectSchema('RegistrationTokenWithToken', created.body)
    const { id, token } = created.body as unknown as { id: string; token: string }
    // Stored as a hash only.
    expect((await server.store.listRegistrationTokens()).find((t) => t.id === id)?.tokenHash).toBe(hashToken(token))

    const bearer = { authorization: `Bearer ${token}` }
    const registered = await expectRegistered(await register(server, APP, bearer))
    expect(registered).toMatchObject({ client_name: 'Partner app', token_endpoint_auth_method: 'client_secret_basic' })

    const listed = await api('GET', '/admin/registration-tokens')
    expect(listed.status).toBe(200)
    expect(listed.body).toEqual([{ id, name: 'partners', created_at: created.body.created_at, expires_at: created.body.expires_at, last_used_at: server.clock.now(), revoked_at: null }])
    await expectSchema('RegistrationToken', listed.body[0])
    expect(JSON.stringify(listed.body)).not.toContain(token)
    expect(JSON.stringify(listed.body)).not.toContain(hashToken(token))

    server.clock.advance(10)
    const revoked = await api('DELETE', `/admin/registration-tokens/${id}`)
    expect(revoked.status).toBe(204)
    expect(revoked.body).toBeUndefined()
    const refused = await register(server, APP, bearer)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/)
    expect((await api('GET', '/admin/registration-tokens')).body).toEqual([expect.objectContaining({ id, revoked_at: server.clock.now() })])
    // The clients it registered stay.
    expect(await server.store.getClient(String(registered.client_id))).toBeDefined()

    // Revoked already: the service's answer, as registration-token revoke gives it (409), by id;
    // by name, a revoked token is no longer found (404).
    const again = await api('DELETE', `/admin/registration-tokens/${id}`)
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ type: 'https://authcode.dev/problems/conflict', detail: expect.stringMatching(/revoked already/) })
    expect((await api('DELETE', '/admin/registration-tokens/partners')).status).toBe(404)

    // Each change one audit event naming the admin token; never the token.
    const emitted = auditEvents.slice(events).filter((event) => event.event.startsWith('admin.registration_token'))
    expect(emitted).toEqual([
      expect.objectContaining({ event: 'admin.registration_token_created', actor: `admin_token:${ADMIN_TOKEN_NAME}`, registration_token_id: id, ip: '127.0.0.1' }),
      expect.objectContaining({ event: 'admin.registration_token_revoked', actor: `admin_token:${ADMIN_TOKEN_NAME}`, registration_token_id: id, ip: '127.0.0.1' }),
    ])
    expect(JSON.stringify(auditEvents)).not.toContain(token)
  })

  it('without expires_in the token lasts until revoked; a live token can be revoked by its name, as the CLI does', async () => {
    const created = await api('POST', '/admin/registration-tokens', { name: 'forever' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ name: 'forever', expires_at: null })
    server.clock.advance(400 * 86_400)
    await expectRegistered(await register(server, APP, { authorization: `Bearer ${String(created.body.token)}` }))
    expect((await api('DELETE', '/admin/registration-tokens/forever')).status).toBe(204)
    expect((await register(server, APP, { authorization: `Bearer ${String(created.body.token)}` })).status).toBe(401)
  })

  it('unknown ids: 404; a name taken by a live token: 409; nothing is made', async () => {
    expect((await api('DELETE', '/admin/registration-tokens/no-such-token')).status).toBe(404)
    expect((await api('POST', '/admin/registration-tokens', { name: 'taken' })).status).toBe(201)
    const before = (await api('GET', '/admin/registration-tokens')).body.length
    const taken = await api('POST', '/admin/registration-tokens', { name: 'taken' })
    expect(taken).toMatchObject({ status: 409, body: { field: 'name' } })
    expect((await api('GET', '/admin/registration-tokens')).body.length).toBe(before)
  })

  it('bad input: unknown fields, a bad name, a bad expiry, a missing name, a body on a list: 400 naming the field, never a 5xx; nothing is made', async () => {
    const before = (await api('GET', '/admin/registration-tokens')).body.length
    await expectInvalid(api('POST', '/admin/registration-tokens', { name: 'x', token: 'chosen-by-the-caller' }), 'token')
    await expectInvalid(api('POST', '/admin/registration-tokens', { name: 'x', expires_at: 2_000_000_000 }), 'expires_at')
    await expectInvalid(api('POST', '/admin/registration-tokens', { expires_in: 60 }), 'name')
    await expectInvalid(api('POST', '/admin/registration-tokens', { name: 'a b' }), 'name')
    await expectInvalid(api('POST', '/admin/registration-tokens', { name: 42 }), 'name')
    for (const expiresIn of [0, -1, 1.5, 400 * 86_400, '3600', null, true]) {
      await expectInvalid(api('POST', '/admin/registration-tokens', { name: 'x', expires_in: expiresIn }), 'expires_in')
    }
    expect((await api('POST', '/admin/registration-tokens', ['x'])).status).toBe(400)
    expect((await api('POST', '/admin/registration-tokens')).status).toBe(400)
    expect((await api('GET', '/admin/registration-tokens?all=1')).status).toBe(400)
    expect((await api('GET', '/admin/registration-tokens/some-id')).status).toBe(405)
    expect((await api('GET', '/admin/registration-tokens')).body.length).toBe(before)
  })

  it('any JSON value in any member of the POST: a 201 or a 4xx problem, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.oneof(fc.constantFrom('name', 'expires_in'), fc.string()), fc.jsonValue(), { maxKeys: 3 }), async (body) => {
        // `api` asserts the status is under 500 and documented.
        expect((await api('POST', '/admin/registration-tokens', body)).status).toBeGreaterThanOrEqual(201)
      }),
      { numRuns: 60 },
    )
  }, 60_000)

  it('without a valid admin token: 401, and nothing is listed or made', async () => {
    for (const [method, authorization] of [
      ['GET', ''],
      ['POST', 'Bearer not-an-admin-token'],
    ] as const) {
      const response = await fetch(`${adminUrl}/admin/registration-tokens`, {
        method,
        headers: { ...(authorization === '' ? {} : { authorization }), 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ name: 'intruder' }) } : {}),
      })
      expect(response.status).toBe(401)
      expect(await response.text()).not.toContain('"token"')
    }
    expect((await server.store.listRegistrationTokens()).some((t) => t.name === 'intruder')).toBe(false)
  })
})
