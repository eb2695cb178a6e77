/**
 * An AsyncAPI document as the configuration source (issue 4, "Configure from it"): the scheme is
 * chosen and checked at construction; the issuer comes from `x-issuer` or discovery at the
 * `authorizationUrl`'s origin; the discovered metadata must agree with the document; the login asks
 * for the document's scopes and the callback's `iss` is still checked (RFC 9207).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AsyncApiError, parseDocument, type AsyncApiDocument } from '@authcode/asyncapi'
import { OAuthClient } from '../src/client.js'
import type { AsyncApiSource, ClientOptions } from '../src/config/options.js'
import { InvalidResponseError } from '../src/errors.js'
import { CLIENT_ID, CLIENT_SECRET, FakeAuthorizationServer, ISSUER, REDIRECT_URI } from './fake-as.js'

interface SchemeSpec {
  name?: string
  issuer?: string
  authorizationUrl?: string
  tokenUrl?: string
  refreshUrl?: string | null
  scopes?: Record<string, string>
  /** 3.x: the scheme's own `scopes`. */
  required?: string[]
}

const SCOPES = { 'read:messages': 'Read messages', 'write:messages': 'Write messages' }

function schemeYaml(spec: SchemeSpec): string {
  const lines = [`    ${spec.name ?? 'chatOAuth'}:`, '      type: oauth2']
  if (spec.issuer !== undefined) lines.push(`      x-issuer: ${spec.issuer}`)
  if (spec.required !== undefined) lines.push(`      scopes: [${spec.required.map((s) => `'${s}'`).join(', ')}]`)
  lines.push('      flows:', '        authorizationCode:')
  lines.push(`          authorizationUrl: ${spec.authorizationUrl ?? `${ISSUER}/authorize`}`)
  lines.push(`          tokenUrl: ${spec.tokenUrl ?? `${ISSUER}/token`}`)
  const refreshUrl = spec.refreshUrl === undefined ? `${ISSUER}/token` : spec.refreshUrl
  if (refreshUrl !== null) lines.push(`          refreshUrl: ${refreshUrl}`)
  lines.push('          availableScopes:')
  for (const [name, description] of Object.entries(spec.scopes ?? SCOPES)) lines.push(`            '${name}': ${description}`)
  return lines.join('\n')
}

function documentText(...schemes: SchemeSpec[]): string {
  return ['asyncapi: 3.0.0', 'info:', '  title: Chat', '  version: 1.0.0', 'components:', '  securitySchemes:', ...schemes.map(schemeYaml), ''].join('\n')
}

function documentOf(...schemes: SchemeSpec[]): AsyncApiDocument {
  return parseDocument(documentText(...(schemes.length === 0 ? [{}] : schemes)))
}

function clientFrom(fake: FakeAuthorizationServer, server: AsyncApiSource, options: Partial<ClientOptions> = {}): OAuthClient {
  return new OAuthClient({
    server,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    now: () => fake.now,
    fetch: fake.fetch,
    refreshLockPollMs: 2,
    ...options,
  })
}

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('an AsyncAPI source: checked at construction', () => {
  const fake = new FakeAuthorizationServer()
  const refuses = (server: AsyncApiSource, message: RegExp) => {
    expect(() => clientFrom(fake, server)).toThrow(TypeError)
    expect(() => clientFrom(fake, server)).toThrow(message)
  }

  it('refuses several authorization code schemes of different servers when no scheme names one, listing them', () => {
    const other = 'https://other.example.com'
    const document = documentOf({ name: 'chatOAuth' }, { name: 'readMessages', required: ['read:messages'], authorizationUrl: `${other}/authorize`, tokenUrl: `${other}/token`, refreshUrl: null })
    refuses({ kind: 'asyncapi', document }, /several oauth2 authorization code schemes: chatOAuth, readMessages; name one with server.scheme/)
    expect(clientFrom(fake, { kind: 'asyncapi', document, scheme: 'chatOAuth' }).config.scope).toBe('read:messages write:messages')
  })

  it('takes several schemes of the one server as one: every scope the operations require', () => {
    const document = documentOf({ name: 'readMessages', required: ['read:messages'] }, { name: 'writeMessages', required: ['write:messages'] })
    expect(clientFrom(fake, { kind: 'asyncapi', document }).config.scope).toBe('read:messages write:messages')
  })

  it('refuses an unknown scheme, and a scheme without an authorization code flow', () => {
    refuses({ kind: 'asyncapi', document: documentOf(), scheme: 'nope' }, /no security scheme named nope; it has: chatOAuth/)
    const text = `${documentText({})}    machines:\n      type: oauth2\n      flows:\n        clientCredentials:\n          tokenUrl: ${ISSUER}/token\n          availableScopes: {}\n`
    refuses({ kind: 'asyncapi', document: parseDocument(text), scheme: 'machines' }, /security scheme machines has no valid oauth2 authorizationCode flow; it has: chatOAuth/)
    const none = parseDocument(text.replace(/ {4}chatOAuth:[\s\S]*? {4}machines:/, '    machines:'))
    refuses({ kind: 'asyncapi', document: none }, /no valid oauth2 security scheme with an authorizationCode flow/)
  })

  it('refuses a plain-http URL outside localhost, a bad x-issuer, a bad scheme option and a non-document', () => {
    refuses({ kind: 'asyncapi', document: documentOf({ tokenUrl: 'http://as.test/token' }) }, /scheme chatOAuth\) tokenUrl must be an https URL/)
    refuses({ kind: 'asyncapi', document: documentOf({ issuer: 'https://as.test/?tenant=1' }) }, /x-issuer must not have a query/)
    refuses({ kind: 'asyncapi', document: documentOf(), scheme: '' }, /server.scheme must be a non-empty string/)
    refuses({ kind: 'asyncapi', document: { asyncapi: '3.0.0' } as never }, /expected a document from loadDocument\(\) or parseDocument\(\)/)
    refuses({ kind: 'asyncapi' } as never, /server.document must be/)
  })

  it('reads a document given as a path at construction; an unreadable path is an AsyncApiError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authcode-client-asyncapi-'))
    dirs.push(dir)
    const file = join(dir, 'asyncapi.yaml')
    await writeFile(file, documentText({ issuer: ISSUER }))
    const client = clientFrom(fake, { kind: 'asyncapi', document: file })
    expect(client.config.server).toMatchObject({ kind: 'asyncapi', issuer: ISSUER, issuerFrom: 'x-issuer', scheme: { name: 'chatOAuth' } })
    expect(() => clientFrom(fake, { kind: 'asyncapi', document: join(dir, 'missing.yaml') })).toThrow(AsyncApiError)
    expect(() => clientFrom(fake, { kind: 'asyncapi', document: join(dir, 'missing.yaml') })).toThrow(/cannot read/)
  })

  it('makes no request at construction', () => {
    const quiet = new FakeAuthorizationServer()
    clientFrom(quiet, { kind: 'asyncapi', document: documentOf() })
    expect(quiet.requests).toHaveLength(0)
  })
})

describe('an AsyncAPI source: issuer, discovery and agreement', () => {
  it('takes the issuer from x-issuer and discovers there, even when the endpoints are on another origin', async () => {
    const fake = new FakeAuthorizationServer()
    fake.metadata = { authorization_endpoint: 'https://login.test/authorize', scopes_supported: ['openid', 'read:messages', 'write:messages'] }
    const client = clientFrom(fake, { kind: 'asyncapi', document: documentOf({ issuer: ISSUER, authorizationUrl: 'https://login.test/authorize' }) })
    expect(client.config.issuer.href).toBe(`${ISSUER}/`)
    const { url, loginId } = await client.buildAuthorizationUrl()
    expect(fake.requests[0]?.url.href).toBe(`${ISSUER}/.well-known/oauth-authorization-server`)
    expect(url.origin + url.pathname).toBe('https://login.test/authorize')
    // The document's scopes, plus openid because the server lists it.
    expect(url.searchParams.get('scope')).toBe('openid read:messages write:messages')
    expect(url.searchParams.get('nonce')).toBeTypeOf('string')
    const result = await client.handleCallback({ loginId, url: fake.authorize(url) })
    expect(result.tokens.scope).toBe('openid read:messages write:messages')
    expect(result.claims).toMatchObject({ iss: ISSUER })
  })

  it('without x-issuer, discovers by RFC 8414 at the authorizationUrl\'s origin and still checks iss (RFC 9207)', async () => {
    const fake = new FakeAuthorizationServer()
    const client = clientFrom(fake, { kind: 'asyncapi', document: documentOf() })
    expect(client.config.server).toMatchObject({ issuer: ISSUER, issuerFrom: 'authorizationUrl' })
    const { url, loginId } = await client.buildAuthorizationUrl()
    expect(fake.requests.map((r) => r.url.href)).toEqual([`${ISSUER}/.well-known/oauth-authorization-server`])
    // The server lists no scopes: only the document's are asked for (no openid, no nonce).
    expect(url.searchParams.get('scope')).toBe('read:messages write:messages')
    expect(url.searchParams.get('nonce')).toBeNull()
    const forged = fake.authorize(url)
    forged.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId, url: forged })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)

    const second = await client.buildAuthorizationUrl()
    const result = await client.handleCallback({ loginId: second.loginId, url: fake.authorize(second.url) })
    expect(result.tokens.scope).toBe('read:messages write:messages')
    // Metadata is cached like discovery: one request for both logins.
    expect(fake.requestsTo('/.well-known/oauth-authorization-server')).toHaveLength(1)
  })

  it('sends refresh requests to the document\'s refreshUrl', async () => {
    const fake = new FakeAuthorizationServer()
    const client = clientFrom(fake, { kind: 'asyncapi', document: documentOf() })
    const { refreshAs, as } = await client.metadata()
    expect(refreshAs.token_endpoint).toBe(`${ISSUER}/token`)
    expect(as.issuer).toBe(ISSUER)
    const { url, loginId } = await client.buildAuthorizationUrl()
    const { sessionId } = await client.handleCallback({ loginId, url: fake.authorize(url) })
    await client.refresh(sessionId)
    expect(fake.refreshRequests().map((r) => r.url.href)).toEqual([`${ISSUER}/token`])
  })

  it('an explicit scope option wins over the document\'s', async () => {
    const fake = new FakeAuthorizationServer()
    fake.metadata = { scopes_supported: ['openid', 'read:messages', 'write:messages'] }
    const client = clientFrom(fake, { kind: 'asyncapi', document: documentOf() }, { scope: 'read:messages' })
    const { url } = await client.buildAuthorizationUrl()
    expect(url.searchParams.get('scope')).toBe('read:messages')
  })

  it('refuses metadata that disagrees with the document, naming each URL and scope, before any login', async () => {
    const fake = new FakeAuthorizationServer()
    fake.metadata = { scopes_supported: ['openid', 'read:messages'] }
    const document = documentOf({ tokenUrl: `${ISSUER}/oauth2/token`, refreshUrl: 'https://as.test/refresh' })
    const client = clientFrom(fake, { kind: 'asyncapi', document })
    const failure = await client.buildAuthorizationUrl().catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(InvalidResponseError)
    expect(failure).toMatchObject({ code: 'DISCOVERY_MISMATCH' })
    const message = (failure as Error).message
    expect(message).toContain(`tokenUrl ${ISSUER}/oauth2/token is not the server's token_endpoint ${ISSUER}/token`)
    expect(message).toContain(`refreshUrl https://as.test/refresh is not the server's token_endpoint ${ISSUER}/token`)
    expect(message).toContain('scope write:messages not in the server\'s scopes_supported')
    expect(message).not.toContain('authorizationUrl https')
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('refuses an authorization endpoint that is not the document\'s', async () => {
    const fake = new FakeAuthorizationServer()
    fake.metadata = { authorization_endpoint: `${ISSUER}/elsewhere` }
    const client = clientFrom(fake, { kind: 'asyncapi', document: documentOf() })
    await expect(client.metadata()).rejects.toMatchObject({
      code: 'DISCOVERY_MISMATCH',
      message: expect.stringContaining(`authorizationUrl ${ISSUER}/authorize is not the server's authorization_endpoint ${ISSUER}/elsewhere`) as unknown,
    })
  })

  it('refuses a server whose issuer is not the authorizationUrl\'s origin (the issuer check of RFC 8414 §3.3)', async () => {
    const fake = new FakeAuthorizationServer()
    const client = clientFrom(fake, { kind: 'asyncapi', document: documentOf({ authorizationUrl: 'https://login.test/authorize' }) })
    await expect(client.metadata()).rejects.toMatchObject({ code: 'DISCOVERY_FAILED' })
    expect(fake.requests[0]?.url.href).toBe('https://login.test/.well-known/oauth-authorization-server')
  })
})
