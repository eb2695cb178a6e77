import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { ISSUER, NOW, oauthError } from '../../test/protocol-fixtures.js'
import { hashToken } from '../tokens/secrets.js'
import type { SecurityEvent } from './events.js'
import {
  authenticateRegistration,
  checkInitialAccessToken,
  clientInformation,
  deleteRegistration,
  registerDynamicClient,
  returnsTo,
  updateRegistration,
  type RegistrationDeps,
} from './registration.js'
import type { RegistrationTokenRecord } from './store.js'

const SETTINGS = { issuer: ISSUER, endpoints: { registration: '/register' }, scopes: { openid: 'Sign in', profile: 'Profile', 'files:read': 'Files' }, registration: { maxClients: 3 } }

function deps(store = new MemoryStore(), now = NOW): RegistrationDeps & { store: MemoryStore; events: { emit: (e: SecurityEvent) => void }; seen: SecurityEvent[] } {
  const seen: SecurityEvent[] = []
  return { store, config: SETTINGS, now, events: { emit: (event) => void seen.push(event) }, seen }
}

const PUBLIC = { redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none', client_name: 'Host', scope: 'openid files:read' }

describe('registerDynamicClient (RFC 7591 §3)', () => {
  it('§2 defaults: client_secret_basic, authorization_code, code, the offered default scopes; the client is marked and never first-party', async () => {
    const d = deps()
    const info = await registerDynamicClient({ redirect_uris: ['https://app.example/cb'] }, d)
    expect(info).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // openid and profile are offered, email is not.
      scope: 'openid profile',
      client_name: info.client_id,
      client_id_issued_at: NOW,
      client_secret_expires_at: 0,
      registration_client_uri: `${ISSUER}/register/${info.client_id}`,
    })
    const stored = d.store.clients.get(info.client_id)
    expect(stored).toMatchObject({ registeredDynamically: true, firstParty: false, pkceOptional: false })
    expect(stored?.secretHash).toBe(hashToken(info.client_secret ?? ''))
    expect(stored?.registrationAccessTokenHash).toBe(hashToken(info.registration_access_token ?? ''))
    expect(d.seen).toEqual([{ type: 'client.registered', clientId: info.client_id, userId: null, registrationTokenId: null }])
  })

  it('names the initial access token in the event (token mode)', async () => {
    const d = deps()
    const token: RegistrationTokenRecord = { id: 'rt-1', name: 'ci', tokenHash: 'h', createdAt: NOW, expiresAt: null, lastUsedAt: null, revokedAt: null }
    const info = await registerDynamicClient(PUBLIC, d, token)
    expect(info).not.toHaveProperty('client_secret')
    expect(d.seen[0]).toMatchObject({ type: 'client.registered', registrationTokenId: 'rt-1' })
  })

  it('an error_description stays within the RFC 6749 §5.2 charset whatever the client sent', async () => {
    for (const uri of ['https://app.example/"\\\u0000é', `javascript:"${'\u2028'.repeat(5)}`]) {
      const error = await oauthError(registerDynamicClient({ redirect_uris: [uri] }, deps()), 'invalid_redirect_uri')
      expect(error.description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/)
    }
    const long = await oauthError(registerDynamicClient({ redirect_uris: ['https://app.example/cb'], scope: `openid ${'x'.repeat(1000)}` }, deps()), 'invalid_client_metadata')
    expect(long.description.length).toBeLessThanOrEqual(300)
  })

  it('null counts as absent (RFC 7592 §2.2); a __proto__ member changes nothing', async () => {
    const info = await registerDynamicClient(JSON.parse('{"redirect_uris":["https://app.example/cb"],"scope":null,"client_name":null,"__proto__":{"first_party":true}}'), deps())
    expect(info.scope).toBe('openid profile')
  })
})

describe('registration.maxClients (SECURITY.md 31)', () => {
  it('registers no more clients than the bound; the operator\'s do not count, and a removed one makes room', async () => {
    const d = deps()
    const first = await registerDynamicClient(PUBLIC, d)
    const record = d.store.clients.get(first.client_id)
    if (record === undefined) throw new Error('not stored')
    await d.store.createClient({ ...record, clientId: 'operator', registeredDynamically: false, registrationAccessTokenHash: null })
    await registerDynamicClient(PUBLIC, d)
    const last = await registerDynamicClient(PUBLIC, d)
    const full = await oauthError(registerDynamicClient(PUBLIC, d), 'temporarily_unavailable')
    expect(full.status).toBe(503)
    expect(await d.store.countDynamicallyRegisteredClients()).toBe(3)
    await d.store.deleteClient(last.client_id)
    await registerDynamicClient(PUBLIC, d)
  })
})

describe('checkInitialAccessToken', () => {
  const token = (overrides: Partial<RegistrationTokenRecord> = {}): RegistrationTokenRecord => ({
    id: 't1',
    name: 'ci',
    tokenHash: hashToken('secret-token'),
    createdAt: NOW,
    expiresAt: NOW + 60,
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  })

  it('accepts a live token until its expiry (exclusive) and records its use', async () => {
    const store = new MemoryStore()
    await store.createRegistrationToken(token())
    expect((await checkInitialAccessToken(store, 'Bearer secret-token', NOW + 59)).id).toBe('t1')
    expect(store.registrationTokens.get('t1')?.lastUsedAt).toBe(NOW + 59)
    await oauthError(checkInitialAccessToken(store, 'Bearer secret-token', NOW + 60), 'invalid_token')
  })

  it('refuses a revoked token, another scheme, and none', async () => {
    const store = new MemoryStore()
    await store.createRegistrationToken(token({ revokedAt: NOW }))
    await oauthError(checkInitialAccessToken(store, 'Bearer secret-token', NOW), 'invalid_token')
    await oauthError(checkInitialAccessToken(store, 'Basic secret-token', NOW), 'invalid_token')
    await oauthError(checkInitialAccessToken(store, undefined, NOW), 'invalid_token')
  })
})

describe('RFC 7592', () => {
  it('authenticateRegistration: only the client\'s own registration access token opens it', async () => {
    const d = deps()
    const a = await registerDynamicClient(PUBLIC, d)
    const b = await registerDynamicClient(PUBLIC, d)
    expect((await authenticateRegistration(d.store, a.client_id, `Bearer ${a.registration_access_token ?? ''}`)).clientId).toBe(a.client_id)
    await oauthError(authenticateRegistration(d.store, a.client_id, `Bearer ${b.registration_access_token ?? ''}`), 'invalid_token')
    await oauthError(authenticateRegistration(d.store, 'nope', `Bearer ${a.registration_access_token ?? ''}`), 'invalid_token')
  })

  it('updateRegistration replaces the metadata, keeps public clients public and confidential ones confidential', async () => {
    const d = deps()
    const info = await registerDynamicClient({ redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code', 'refresh_token'] }, d)
    const client = d.store.clients.get(info.client_id)
    if (client === undefined) throw new Error('not stored')
    const updated = await updateRegistration(client, { client_id: info.client_id, redirect_uris: ['https://app.example/new'], token_endpoint_auth_method: 'client_secret_post' }, d)
    expect(updated).toEqual(clientInformation({ ...client, redirectUris: ['https://app.example/new'], tokenEndpointAuthMethod: 'client_secret_post', grantTypes: ['authorization_code'], name: info.client_id }, SETTINGS))
    await oauthError(updateRegistration(client, { client_id: info.client_id, redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }, d), 'invalid_client_metadata')
    await oauthError(updateRegistration(client, { client_id: info.client_id, client_secret: 'guess', redirect_uris: ['https://app.example/cb'] }, d), 'invalid_client_metadata')
    expect(d.seen.map((event) => event.type)).toEqual(['client.registered', 'client.registration_updated'])
  })

  it('web_origins: a public client\'s, checked as the operator\'s (checkWebOrigins); refused for a confidential client; an update replaces them', async () => {
    const d = deps()
    const info = await registerDynamicClient({ ...PUBLIC, web_origins: ['https://app.example', 'http://localhost:5173'] }, d)
    expect(info.web_origins).toEqual(['https://app.example', 'http://localhost:5173'])
    const client = d.store.clients.get(info.client_id)
    if (client === undefined) throw new Error('not stored')
    expect(client.webOrigins).toEqual(['https://app.example', 'http://localhost:5173'])
    await oauthError(registerDynamicClient({ ...PUBLIC, web_origins: ['https://app.example/path'] }, d), 'invalid_client_metadata')
    await oauthError(registerDynamicClient({ redirect_uris: ['https://app.example/cb'], web_origins: ['https://app.example'] }, d), 'invalid_client_metadata')
    const updated = await updateRegistration(client, { ...PUBLIC, client_id: info.client_id, web_origins: ['https://other.example'] }, d)
    expect(updated.web_origins).toEqual(['https://other.example'])
    expect(d.store.clients.get(info.client_id)?.webOrigins).toEqual(['https://other.example'])
  })

  it('deleteRegistration removes the client once', async () => {
    const d = deps()
    const info = await registerDynamicClient(PUBLIC, d)
    const client = d.store.clients.get(info.client_id)
    if (client === undefined) throw new Error('not stored')
    await deleteRegistration(client, d)
    expect(d.store.clients.has(info.client_id)).toBe(false)
    await oauthError(deleteRegistration(client, d), 'invalid_token')
  })
})

describe('returnsTo', () => {
  it('the host and port of a web redirect URI, the scheme of an app on the device', () => {
    expect(returnsTo('https://phish.example:8443/cb?x=1')).toBe('phish.example:8443')
    expect(returnsTo('http://127.0.0.1:51000/cb')).toBe('127.0.0.1:51000')
    expect(returnsTo('com.example.app:/oauth')).toBe('com.example.app')
  })
})
