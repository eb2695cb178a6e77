/**
 * The example broker end to end: an authcode server (the server package's test harness) issues
 * tokens through the authorization code flow; the broker, configured by its AsyncAPI document,
 * lets them receive and send per scope (checklist AA-05).
 * Run: npx vitest run --config examples/broker/vitest.config.ts
 */
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDocument } from '@authcode/asyncapi'
import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { Browser, authorize, authorizeQuery, basicAuth, obtainTokens, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../../../packages/server/test/harness.js'
import { POLICY_VIOLATION, startBroker, type Broker } from '../src/broker.js'

const AUDIENCE = 'https://broker.test'
const OTHER_RESOURCE = 'https://other.test/api'
/** RFC 9728 §5.1: every refusal by the guard names the broker's metadata. */
const CHALLENGE = 'Bearer resource_metadata="http://127\\.0\\.0\\.1:\\d+/\\.well-known/oauth-protected-resource"'

let server: TestServer
let client: TestClient
let user: { id: string; username: string; password: string }
let broker: Broker

beforeAll(async () => {
  server = await startServer({
    scopes: { openid: 'Sign in', 'read:messages': 'Read messages', 'write:messages': 'Write messages', admin: 'Administer' },
    accessToken: { audience: AUDIENCE },
    // RFC 8707: another resource the server issues tokens for; they are not the broker's.
    resources: [{ uri: OTHER_RESOURCE, name: 'Another API', scopes: ['read:messages', 'write:messages'] }],
  })
  client = await server.addClient({ scope: 'openid read:messages write:messages admin' })
  user = await server.addUser()
  broker = await startBroker({
    document: await loadDocument(fileURLToPath(new URL('../asyncapi.yaml', import.meta.url))),
    guard: { issuer: server.url, audience: AUDIENCE, jwksUri: `${server.url}/jwks`, now: () => new Date(server.clock.now() * 1000) },
    port: 0,
    host: '127.0.0.1',
  })
})
afterAll(async () => {
  await broker?.close()
  await server?.close()
})

async function token(scope: string, resource?: string): Promise<string> {
  const { tokens } = await obtainTokens(server, client, user, { scope, resource })
  return tokens.access_token as string
}

/** Opens a socket; rejects with the HTTP status (and WWW-Authenticate) when the upgrade is refused. */
function connect(path: string, accessToken?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${broker.url}${path}`, accessToken === undefined ? {} : { headers: { authorization: `Bearer ${accessToken}` } })
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_request, response) => reject(new Error(`${response.statusCode} ${response.headers['www-authenticate'] ?? ''}`)))
    ws.once('error', reject)
  })
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>)))
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
}

describe('the example broker', () => {
  it('RFC 6750 §3.1: refuses an upgrade without a token (401), with a bad one (401 invalid_token), and a token in the URL (400)', async () => {
    await expect(connect('/rooms/lobby')).rejects.toThrow(new RegExp(`^401 ${CHALLENGE}$`))
    await expect(connect('/rooms/lobby', 'not-a-token')).rejects.toThrow(new RegExp(`^401 ${CHALLENGE}, error="invalid_token"`))
    const good = await token('openid read:messages')
    await expect(connect(`/rooms/lobby?access_token=${good}`)).rejects.toThrow(/^400 Bearer error="invalid_request"/)
  })

  it('RFC 9728: serves its protected resource metadata (resource, authorization server, the scopes of its operations)', async () => {
    const response = await fetch(`${broker.url.replace(/^ws/, 'http')}/.well-known/oauth-protected-resource`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await response.json()).toMatchObject({
      resource: AUDIENCE,
      authorization_servers: [server.url],
      scopes_supported: ['read:messages', 'write:messages'],
      bearer_methods_supported: ['header'],
    })
  })

  it('RFC 8707 / RFC 9700 §2.3: a token for another resource is refused at the broker (401 invalid_token)', async () => {
    const elsewhere = await token('openid read:messages', OTHER_RESOURCE)
    await expect(connect('/rooms/lobby', elsewhere)).rejects.toThrow(new RegExp(`^401 ${CHALLENGE}, error="invalid_token", error_description="the access token is not meant for this resource server"`))
  })

  it('AA-05: a message sent with write:messages reaches the subscribers that hold read:messages', async () => {
    const reader = await connect('/rooms/lobby', await token('openid read:messages'))
    const writer = await connect('/rooms/lobby', await token('openid write:messages'))
    const elsewhere = await connect('/rooms/other', await token('openid read:messages'))
    let leaked = false
    elsewhere.on('message', () => (leaked = true))
    const received = nextMessage(reader)
    writer.send(JSON.stringify({ text: 'hello', name: '  Ada  ', from: 'someone-else' }))
    // The sender is the token's subject, whatever the message says; the name is the app's label.
    const message = await received
    expect(message).toMatchObject({ room: 'lobby', text: 'hello', from: user.id, name: 'Ada' })
    expect(Date.parse(String(message.sentAt))).toBeGreaterThan(0)
    expect(leaked).toBe(false)
    for (const ws of [reader, writer, elsewhere]) ws.close()
  })

  it('AA-05: a token without read:messages may send but receives nothing', async () => {
    const writerOnly = await connect('/rooms/quiet', await token('openid write:messages'))
    const reader = await connect('/rooms/quiet', await token('openid read:messages'))
    let writerGot = false
    writerOnly.on('message', () => (writerGot = true))
    const received = nextMessage(reader)
    writerOnly.send(JSON.stringify({ text: 'one way' }))
    expect(await received).toMatchObject({ room: 'quiet', text: 'one way' })
    expect(writerGot).toBe(false)
    for (const ws of [reader, writerOnly]) ws.close()
  })

  it('AA-05: a message without write:messages is refused and the connection closed with the reason', async () => {
    const reader = await connect('/rooms/lobby', await token('openid read:messages'))
    const end = closed(reader)
    reader.send(JSON.stringify({ text: 'may I?' }))
    expect(await end).toEqual({ code: POLICY_VIOLATION, reason: 'insufficient_scope: sendMessage needs write:messages' })
  })

  it('AA-05: an expired token ends the subscription (invalid_token), by the server\'s clock', async () => {
    const subscriber = await connect('/rooms/expiry', await token('openid read:messages'))
    const end = closed(subscriber)
    server.clock.advance(server.config.lifetimes.accessToken + 10)
    const writer = await connect('/rooms/expiry', await token('openid write:messages'))
    writer.send(JSON.stringify({ text: 'anyone there?' }))
    expect(await end).toEqual({ code: POLICY_VIOLATION, reason: 'invalid_token: the access token has expired' })
    writer.close()
  })
})

describe('DPoP-bound tokens (RFC 9449)', () => {
  /** A DPoP-bound access token with `scope`, and the key that proves it. */
  async function boundToken(scope: string) {
    const { publicKey, privateKey } = await generateKeyPair('ES256')
    const jwk = await exportJWK(publicKey)
    const proof = (htm: string, htu: string, claims: Record<string, unknown> = {}) =>
      new SignJWT({ htm, htu, jti: randomUUID(), ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt(server.clock.now()).sign(privateKey)
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: challenge, scope }), user)
    const tokenUrl = `${server.url}/token`
    const response = await postForm(
      tokenUrl,
      { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: client.redirectUri, code_verifier: verifier },
      { authorization: basicAuth(client.clientId, client.secret ?? ''), dpop: await proof('POST', tokenUrl) },
    )
    const body = (await response.json()) as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    return { token: body.access_token, proof, ath: createHash('sha256').update(body.access_token).digest('base64url') }
  }

  function connectWith(path: string, headers: Record<string, string>): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${broker.url}${path}`, { headers })
      ws.once('open', () => resolve(ws))
      ws.once('unexpected-response', (_request, response) => reject(new Error(`${response.statusCode} ${response.headers['www-authenticate'] ?? ''}`)))
      ws.once('error', reject)
    })
  }

  it('a bound token connects with a proof of its key for the handshake, and its messages go through on that connection', async () => {
    const bound = await boundToken('openid read:messages write:messages')
    const url = `${broker.url.replace(/^ws/, 'http')}/rooms/dpop`
    const ws = await connectWith('/rooms/dpop', { authorization: `DPoP ${bound.token}`, dpop: await bound.proof('GET', url, { ath: bound.ath }) })
    const received = nextMessage(ws)
    ws.send(JSON.stringify({ text: 'bound' }))
    expect(await received).toMatchObject({ room: 'dpop', text: 'bound', from: user.id })
    ws.close()
  })

  it('refused as a Bearer token, without a proof, or with a proof for another URL', async () => {
    const bound = await boundToken('openid read:messages')
    await expect(connectWith('/rooms/dpop', { authorization: `Bearer ${bound.token}` })).rejects.toThrow(new RegExp(`^401 ${CHALLENGE}, error="invalid_token"`))
    await expect(connectWith('/rooms/dpop', { authorization: `DPoP ${bound.token}` })).rejects.toThrow(/^401 DPoP algs=.*invalid_dpop_proof/)
    const elsewhere = await bound.proof('GET', 'http://elsewhere.test/rooms/dpop', { ath: bound.ath })
    await expect(connectWith('/rooms/dpop', { authorization: `DPoP ${bound.token}`, dpop: elsewhere })).rejects.toThrow(/^401 DPoP/)
  })
})
