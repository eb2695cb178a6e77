/**
 * One AsyncAPI document as the single source of truth: the authorization server is configured
 * from the broker's document (its scopes, their consent-page descriptions), a user grants a client
 * those scopes through the pages, and the broker, guarded by the same document, lets the token do
 * exactly what each operation's security requirement allows.
 */
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDocument, readAuthorizationCodeSchemes } from '@authcode/asyncapi'
import { obtainTokens, startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { POLICY_VIOLATION, startBroker, type Broker } from '../../examples/broker/src/broker.js'

const DOCUMENT = fileURLToPath(new URL('../../examples/broker/asyncapi.yaml', import.meta.url))

describe('from an AsyncAPI document to a token to a broker message', () => {
  let server: TestServer
  let client: TestClient
  let user: { username: string; password: string }
  let broker: Broker
  let documentScopes: string[]

  beforeAll(async () => {
    const document = await loadDocument(DOCUMENT)
    const scheme = readAuthorizationCodeSchemes(document).schemes.find((s) => s.name === 'chatOAuth')
    documentScopes = scheme?.scopes.map((s) => s.name) ?? []
    server = await startServer({ asyncapi: { document: DOCUMENT, scheme: 'chatOAuth' } })
    // What `authcode client add --asyncapi` registers: exactly the document's scopes, plus openid.
    client = await server.addClient({ scope: ['openid', ...documentScopes].join(' ') })
    user = await server.addUser()
    broker = await startBroker({
      document,
      guard: { issuer: server.url, audience: server.config.accessToken.audience, jwksUri: `${server.url}/jwks`, now: () => new Date(server.clock.now() * 1000) },
      port: 0,
      host: '127.0.0.1',
    })
  })

  afterAll(async () => {
    await broker?.close()
    await server?.close()
  })

  const token = async (scope: string) => String((await obtainTokens(server, client, user, { scope })).tokens.access_token)

  function connect(path: string, accessToken: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${broker.url}${path}`, { headers: { authorization: `Bearer ${accessToken}` } })
      ws.once('open', () => resolve(ws))
      ws.once('unexpected-response', (_request, response) => reject(new Error(String(response.statusCode))))
      ws.once('error', reject)
    })
  }

  it('AA-02: the server offers exactly the document’s scopes (and openid) in its metadata', async () => {
    expect(documentScopes.sort()).toEqual(['admin', 'read:messages', 'write:messages'])
    const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { scopes_supported: string[] }
    expect([...metadata.scopes_supported].sort()).toEqual(['openid', ...documentScopes].sort())
  })

  it('AA-05: a token granted through the pages sends and receives as the document’s operations allow', async () => {
    const reader = await connect('/rooms/lobby', await token('openid read:messages'))
    const writer = await connect('/rooms/lobby', await token('openid write:messages'))
    const received = new Promise((resolve) => reader.once('message', (data) => resolve(JSON.parse(data.toString()))))
    writer.send(JSON.stringify({ text: 'from the document to the broker' }))
    expect(await received).toMatchObject({ room: 'lobby', text: 'from the document to the broker' })

    // The reader's token lacks write:messages (sendMessage's requirement): refused, connection closed.
    const end = new Promise<{ code: number; reason: string }>((resolve) => reader.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
    reader.send(JSON.stringify({ text: 'not allowed' }))
    expect(await end).toMatchObject({ code: POLICY_VIOLATION, reason: expect.stringContaining('insufficient_scope') })
    writer.close()
  })
})
