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
import { loadConfig } from '../../server/src/config/load.js'
import { buildApp } from '../../server/src/http/app.js'
import { registerClient } from '../../server/src/protocol/clients.js'
import type { Store } from '../../server/src/protocol/store.js'
import { openStore } from '../../server/src/storage/open.js'
import { KeyRing, loadKeyEncryptionKey } from '../../server/src/tokens/keys.js'
import { hashPassword } from '../../server/src/tokens/secrets.js'
import { Browser, freePort, hiddenInput, locationOf } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const TEMPLATE = join(HERE, '../../server/test/fixtures/asyncapi/chat-broker.localhost.v3.yaml')
const BROKER_SCOPES = ['read:messages', 'write:messages', 'admin']
const REDIRECT_URI = 'https://chat.test/cb'

interface DocServer {
  url: string
  document: string
  store: Store
  close(): Promise<void>
}

let dir: string
let server: DocServer

/** As in the server's asyncapi-serve test: a port chosen first, so that the document can name it. */
async function startFromDocument(): Promise<DocServer> {
  const port = await freePort()
  const document = join(dir, 'asyncapi.yaml')
  await writeFile(document, (await readFile(TEMPLATE, 'utf8')).replaceAll('localhost:PORT', `localhost:${port}`))
  const configPath = join(dir, 'authcode.json')
  await writeFile(configPath, JSON.stringify({ logLevel: 'silent', asyncapi: { document, scheme: 'chatOAuth' } }))
  const config = loadConfig({ port, config: configPath, db: `sqlite:${join(dir, 'authcode.db')}` }, {}, dir)
  const { store } = await openStore(config.db)
  const keys = new KeyRing(store, loadKeyEncryptionKey({ dataDir: config.dataDir }), {
    activationDelay: config.keys.activationDelay,
    maxTokenLifetime: Math.max(config.lifetimes.accessToken, config.lifetimes.idToken),
    cacheTtl: config.keys.cacheTtl,
  })
  const now = () => Math.floor(Date.now() / 1000)
  await keys.ensureKeys(now())
  const app = await buildApp(config, { store, keys, now })
  await app.listen({ port, host: '127.0.0.1' })
  return {
    url: config.issuer,
    document,
    store,
    async close() {
      await app.close()
      await store.close()
    },
  }
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
  const now = Math.floor(Date.now() / 1000)
  const { record, secret } = registerClient(
    { name: 'Chat', redirectUris: [REDIRECT_URI], scope: ['openid', ...BROKER_SCOPES].join(' '), isPublic: false },
    ['openid', ...BROKER_SCOPES],
    now,
  )
  await server.store.createClient(record)
  const username = `chatter-${record.clientId.slice(0, 6)}`
  await server.store.createUser({
    id: `u-${username}`,
    username,
    passwordHash: await hashPassword('correct horse battery'),
    name: 'Chat User',
    email: null,
    emailVerified: false,
    createdAt: now,
    updatedAt: now,
  })
  return { clientId: record.clientId, secret: secret ?? '', user: { username, password: 'correct horse battery' } }
}

/** Walks login and consent from the authorization URL as a person who approves; the redirect back to the client. */
async function approve(browser: Browser, url: URL, user: { username: string; password: string }): Promise<URL> {
  let response = await browser.get(url.href)
  for (let step = 0; step < 10; step++) {
    if (response.status >= 300 && response.status < 400) {
      const next = locationOf(response, server.url)
      if (!next.startsWith(server.url)) return new URL(next)
      response = await browser.get(next)
      continue
    }
    const html = await response.text()
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
    if (response.status !== 200 || action === undefined) throw new Error(`the flow stopped at a page (${response.status})`)
    const csrf = hiddenInput(html, 'csrf')
    const form: Record<string, string> = action.endsWith('/login') ? { csrf, username: user.username, password: user.password } : { csrf, decision: 'approve' }
    response = await browser.post(new URL(action, server.url).href, form)
  }
  throw new Error('authorization did not finish in 10 steps')
}

describe('a client configured from the AsyncAPI document, against a server started from it', () => {
  it('discovers at the authorizationUrl\'s origin, logs in through the pages and gets a token with the document\'s scopes', async () => {
    const { clientId, secret, user } = await setUp()
    const client = new OAuthClient({
      server: { kind: 'asyncapi', document: await loadDocument(server.document), scheme: 'chatOAuth' },
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

    const callback = await approve(new Browser(), url, user)
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
    const client = new OAuthClient({ server: { kind: 'asyncapi', document: server.document, scheme: 'readMessages' }, clientId, clientSecret: secret, redirectUri: REDIRECT_URI })
    const { url, loginId } = await client.buildAuthorizationUrl()
    expect(url.searchParams.get('scope')).toBe('openid read:messages')
    const callback = await approve(new Browser(), url, user)
    const forged = new URL(callback)
    forged.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId, url: forged })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
  })
})
