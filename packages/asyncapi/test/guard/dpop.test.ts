/**
 * RFC 9449 §7 at the guard: a DPoP-bound access token from a real authcode server is accepted only
 * with a proof of its key for this request (method, URL, token, once), never as a Bearer token.
 */
import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOperationGuard, loadDocument, type OperationGuard } from '../../src/index.js'
import { Browser, authorize, authorizeQuery, basicAuth, pkcePair, postForm, startServer, type TestServer } from '../../../server/test/harness.js'
import { reference } from '../fixtures.js'

const AUDIENCE = 'https://broker.test'
const BROKER = 'wss://broker.test/chat'

async function dpopKey() {
  const { publicKey, privateKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  return { jwk, privateKey }
}

function proof(key: { jwk: JWK; privateKey: CryptoKey }, htm: string, htu: string, claims: Record<string, unknown>, iat: number) {
  return new SignJWT({ htm, htu, jti: randomUUID(), ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk }).setIssuedAt(iat).sign(key.privateKey)
}

describe('the guard and DPoP-bound access tokens (RFC 9449 §7)', () => {
  let server: TestServer
  let guard: OperationGuard
  let key: Awaited<ReturnType<typeof dpopKey>>
  let token: string
  let ath: string
  const now = () => server.clock.now()

  beforeAll(async () => {
    server = await startServer({
      scopes: { openid: 'Sign in', 'read:messages': 'Read messages', 'write:messages': 'Write messages', admin: 'Administer' },
      accessToken: { audience: AUDIENCE },
    })
    const client = await server.addClient({ scope: 'openid read:messages write:messages' })
    const user = await server.addUser()
    key = await dpopKey()
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: challenge, scope: 'openid read:messages' }), user)
    const tokenUrl = `${server.url}/token`
    const response = await postForm(
      tokenUrl,
      { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: client.redirectUri, code_verifier: verifier },
      { authorization: basicAuth(client.clientId, client.secret ?? ''), dpop: await proof(key, 'POST', tokenUrl, {}, now()) },
    )
    const body = (await response.json()) as { access_token: string; token_type: string }
    expect(body.token_type).toBe('DPoP')
    token = body.access_token
    ath = createHash('sha256').update(token).digest('base64url')
    guard = createOperationGuard(await loadDocument(reference('chat-broker.v3.yaml')), {
      issuer: server.url,
      audience: AUDIENCE,
      jwksUri: `${server.url}/jwks`,
      now: () => new Date(now() * 1000),
    })
  })
  afterAll(() => server?.close())

  const upgrade = async (claims: Record<string, unknown> = { ath }, htm = 'GET', htu = BROKER) => ({ proof: await proof(key, htm, htu, claims, now()), method: 'GET', url: BROKER })

  it('accepts the bound token with a proof of its key for this request', async () => {
    const result = await guard.check('receiveMessages', `DPoP ${token}`, await upgrade())
    expect(result.ok).toBe(true)
  })

  it('refuses it as a Bearer token (invalid_token)', async () => {
    const result = await guard.check('receiveMessages', `Bearer ${token}`)
    expect(result.ok ? undefined : result.error).toMatchObject({ status: 401, error: 'invalid_token' })
  })

  it('refuses a proof replayed, for another method, URL or token, or missing: invalid_dpop_proof with the DPoP challenge', async () => {
    const once = await upgrade()
    expect((await guard.check('receiveMessages', `DPoP ${token}`, once)).ok).toBe(true)
    const cases = [
      once,
      await upgrade({ ath }, 'POST'),
      await upgrade({ ath }, 'GET', 'wss://elsewhere.test/chat'),
      await upgrade({ ath: 'x'.repeat(43) }),
      await upgrade({}),
      { proof: undefined, method: 'GET', url: BROKER },
    ]
    for (const request of cases) {
      const result = await guard.check('receiveMessages', `DPoP ${token}`, request)
      expect(result.ok ? undefined : result.error).toMatchObject({ status: 401, error: 'invalid_dpop_proof' })
      expect(result.ok ? '' : result.error.wwwAuthenticate).toMatch(/^DPoP algs="[^"]+", error="invalid_dpop_proof"/)
    }
  })

  it('refuses a proof by another key (invalid_token: not the key it is bound to)', async () => {
    const other = await dpopKey()
    const result = await guard.check('receiveMessages', `DPoP ${token}`, { proof: await proof(other, 'GET', BROKER, { ath }, now()), method: 'GET', url: BROKER })
    expect(result.ok ? undefined : result.error).toMatchObject({ status: 401, error: 'invalid_token' })
  })
})
