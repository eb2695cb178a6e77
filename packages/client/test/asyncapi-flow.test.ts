/**
 * The whole flow from an AsyncAPI document (issue 4): our authorization server started from
 * chat-broker.localhost.v3.yaml (its endpoints at the document's /oauth2/… paths, on an ephemeral
 * port), and a client configured from the same document and scheme, with no issuer given: it
 * discovers the server at the authorizationUrl's origin, checks the metadata against the document,
 * logs in through the server's pages, and ends with a token carrying the document's scopes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDocument } from '@authcode/asyncapi'
import { freePort, startServer, type TestServer } from '../../server/test/harness.js'
import { walkAuthorization } from '../../server/test/walk.js'
import { OAuthClient } from '../src/client.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const TEMPLATE = join(HERE, '../../server/test/fixtures/asyncapi/chat-broker.localhost.v3.yaml')
const BROKER_SCOPES = ['read:messages', 'write:messages', 'admin']
const REDIRECT_URI = 'https://chat.test/cb'

let dir: string
let document: string
let server: TestServer

/** The server started from the fixture document, on a port chosen first so that the document can name it. */
async function startFromDocument(): Promise<TestServer> {
  const port = await freePort()
  document = join(dir, 'asyncapi.yaml')
  await writeFile(document, (await readFile(TEMPLATE, 'utf8')).replaceAll('localhost:PORT', `localhost:${port}`))
  return startServer({ asyncapi: { document, scheme: 'chatOAuth' } }, { port })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authcode-client-asyncapi-flow-'))
  server = await startFromDocument()
})

afterAll(async () => {
  await server?.close()
  await rm(dir, { recursive: true, force: true })
})

/** A registered confidential client allowed the document's scopes, and a user. */
async function setUp(): Promise<{ clientId: string; secret: string; user: { username: string; password: string } }> {
  const client = await server.addClient({ name: 'Chat', redirectUris: [REDIRECT_URI], scope: ['openid', ...BROKER_SCOPES].join(' ') })
  return { clientId: client.clientId, secret: client.secret ?? '', user: await server.addUser() }
}

const approve = (url: URL, user: { username: string; password: string }) => walkAuthorization(server.url, url.href, user)

describe('a client configured from the AsyncAPI document, against a server started from it', () => {
  it('discovers at the authorizationUrl\'s origin, logs in through the pages and gets a token with the document\'s scopes', async () => {
    const { clientId, secret, user } = await setUp()
    const client = new OAuthClient({
      server: { kind: 'asyncapi', document: await loadDocument(document), scheme: 'chatOAuth' },
      clientId,
      clientSecret: secret,
      redirectUri: REDIRECT_URI,
    })
    expect(client.config.issuer.origin).toBe(server.url)

    const { as, refreshAs } = await client.metadata()
    expect(as.issuer).toBe(server.url)
    expect(as.authorization_endpoint).toBe(`${server.url}/oauth2/authorize`)
    expect(refreshAs.token_endpoint).toBe(`${server.url}/oauth2/token`)

    const { url, loginId } = await client.buildAuthorizationUrl({ returnTo: '/chat' })
    expect(url.href.startsWith(`${server.url}/oauth2/authorize?`)).toBe(true)
    expect(url.searchParams.get('scope')?.split(' ').sort()).toEqual(['openid', ...BROKER_SCOPES].sort())

    const callback = await approve(url, user)
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI)
    expect(callback.searchParams.get('iss')).toBe(server.url)
    const result = await client.handleCallback({ loginId, url: `${callback.pathname}${callback.search}` })
    expect(result.returnTo).toBe('/chat')
    expect(result.claims).toMatchObject({ iss: server.url, aud: clientId })
    expect(result.tokens.scope?.split(' ').sort()).toEqual(['openid', ...BROKER_SCOPES].sort())

    // A refresh goes to the document's refreshUrl and keeps the scopes.
    const refreshed = await client.refresh(result.sessionId)
    expect(refreshed.scope?.split(' ').sort()).toEqual(['openid', ...BROKER_SCOPES].sort())
  })

  it('takes the document as a path, and a forged iss is still refused (RFC 9207)', async () => {
    const { clientId, secret, user } = await setUp()
    const client = new OAuthClient({ server: { kind: 'asyncapi', document, scheme: 'readMessages' }, clientId, clientSecret: secret, redirectUri: REDIRECT_URI })
    const { url, loginId } = await client.buildAuthorizationUrl()
    expect(url.searchParams.get('scope')).toBe('openid read:messages')
    const callback = await approve(url, user)
    const forged = new URL(callback)
    forged.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId, url: forged })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
  })
})
