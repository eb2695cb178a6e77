/**
 * Protected resource metadata (RFC 9728) and audience-bound tokens (RFC 8707) at the guard, against
 * a real authcode server that lists the broker as a resource.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOperationGuard, loadDocument, protectedResourceMetadataUrl, type AsyncApiDocument, type OperationGuard } from '../../src/index.js'
import { obtainTokens, startServer, type TestClient, type TestServer } from '../../../server/test/harness.js'
import { reference } from '../fixtures.js'

const BROKER = 'https://broker.test/chat'
const OTHER = 'https://other.test'
const METADATA = 'https://broker.test/.well-known/oauth-protected-resource/chat'

describe('protectedResourceMetadataUrl (RFC 9728 §3.1)', () => {
  it('inserts the well-known path between the host and the path', () => {
    expect(protectedResourceMetadataUrl(BROKER)).toBe(METADATA)
    expect(protectedResourceMetadataUrl('https://broker.test')).toBe('https://broker.test/.well-known/oauth-protected-resource')
    expect(protectedResourceMetadataUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/.well-known/oauth-protected-resource')
    expect(protectedResourceMetadataUrl('http://localhost:3001/mcp/')).toBe('http://localhost:3001/.well-known/oauth-protected-resource/mcp')
  })

  it('a resource that is not an http(s) URL without query or fragment is a TypeError', () => {
    for (const bad of ['urn:example:x', 'https://a.test/?q=1', 'https://a.test/#f', 'not a url']) {
      expect(() => protectedResourceMetadataUrl(bad), bad).toThrow(TypeError)
    }
  })
})

describe('the guard as an RFC 9728 protected resource, with tokens for its RFC 8707 resource', () => {
  let server: TestServer
  let client: TestClient
  let user: { username: string; password: string }
  let doc: AsyncApiDocument
  let guard: OperationGuard
  const tokenFor = async (resource: string | undefined, scope = 'read:messages write:messages'): Promise<string> => {
    const { tokens } = await obtainTokens(server, client, user, { scope, resource })
    return tokens.access_token as string
  }

  beforeAll(async () => {
    server = await startServer({
      scopes: { 'read:messages': 'Read messages', 'write:messages': 'Write messages', admin: 'Administer' },
      resources: [
        { uri: BROKER, name: 'Chat broker', scopes: ['read:messages', 'write:messages'] },
        { uri: OTHER, name: 'Another API', scopes: ['read:messages', 'write:messages'] },
      ],
      keys: { activationDelay: 1, cacheTtl: 1 },
    })
    client = await server.addClient({ scope: 'openid read:messages write:messages admin' })
    user = await server.addUser()
    doc = await loadDocument(reference('chat-broker.v3.yaml'))
    guard = createOperationGuard(doc, {
      issuer: server.url,
      audience: BROKER,
      jwksUri: `${server.url}/jwks`,
      resourceMetadata: METADATA,
      resourceName: 'Chat broker',
      now: () => new Date(server.clock.now() * 1000),
    })
  })
  afterAll(async () => server?.close())

  it('RFC 9728 §2: the metadata names the resource, its authorization server, the scopes of the document’s operations, header tokens only', () => {
    expect(guard.metadata).toEqual({
      resource: BROKER,
      authorization_servers: [server.url],
      scopes_supported: ['admin', 'read:messages', 'write:messages'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256', 'EdDSA']),
      resource_name: 'Chat broker',
    })
    expect(Object.isFrozen(guard.metadata)).toBe(true)
  })

  it('RFC 9728 §5.1: a request without a token gets 401 naming the metadata', async () => {
    const result = await guard.check('receiveMessages', undefined)
    expect(result.ok ? undefined : result.error).toMatchObject({ status: 401, wwwAuthenticate: `Bearer resource_metadata="${METADATA}"` })
  })

  it('RFC 8707: a token for this resource passes', async () => {
    const result = await guard.check('sendMessage', `Bearer ${await tokenFor(BROKER)}`)
    expect(result.ok).toBe(true)
    expect(result.ok ? result.claims?.aud : undefined).toBe(BROKER)
  })

  it('RFC 8707 / RFC 9700 §2.3: a token for another resource, or with the server’s default audience, is refused (401 invalid_token, with the metadata)', async () => {
    for (const resource of [OTHER, undefined]) {
      const result = await guard.check('receiveMessages', `Bearer ${await tokenFor(resource)}`)
      expect(result.ok ? undefined : result.error, String(resource)).toMatchObject({
        status: 401,
        error: 'invalid_token',
        description: 'the access token is not meant for this resource server',
      })
      expect(result.ok ? '' : result.error.wwwAuthenticate).toContain(`resource_metadata="${METADATA}"`)
    }
  })

  it('RFC 6750 §3.1: insufficient_scope (403) names the scope and the metadata', async () => {
    const result = await guard.check('sendMessage', `Bearer ${await tokenFor(BROKER, 'read:messages')}`)
    expect(result.ok ? undefined : result.error.wwwAuthenticate).toBe(
      `Bearer resource_metadata="${METADATA}", error="insufficient_scope", error_description="the operation sendMessage needs the scope write:messages", scope="write:messages"`,
    )
  })

  it('options are checked on entry: a resourceMetadata that is not a URL, an empty resourceName', () => {
    const base = { issuer: server.url, audience: BROKER, jwksUri: `${server.url}/jwks` }
    expect(() => createOperationGuard(doc, { ...base, resourceMetadata: '/relative' })).toThrow(TypeError)
    expect(() => createOperationGuard(doc, { ...base, resourceName: '' })).toThrow(TypeError)
  })
})
