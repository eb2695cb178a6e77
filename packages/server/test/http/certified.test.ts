/**
 * The security behaviours of PAR (RFC 9126), DPoP (RFC 9449) and private_key_jwt (RFC 7523) over
 * HTTP, each attack as a request: a request_uri used twice, another client's, expired, or with
 * loose parameters beside it; DPoP proofs replayed, for another URL or method, too old, carrying a
 * private key, or missing the server's nonce; a bound token presented as Bearer; client assertions
 * replayed, for another audience, too long-lived, or MAC-signed.
 */
import { createHash, randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, authorize, authorizeQuery, basicAuth, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** A DPoP key and the proofs it signs. */
async function dpopKey() {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  const jkt = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url')
  const proof = (htm: string, htu: string, claims: Record<string, unknown> = {}, header: Partial<{ jwk: JWK; typ: string }> = {}) =>
    new SignJWT({ htm, htu, jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...header })
      .setIssuedAt(typeof claims.iat === 'number' ? claims.iat : Math.floor(Date.now() / 1000))
      .sign(privateKey)
  return { jwk, jkt, proof, privateKey }
}

describe('PAR, DPoP and private_key_jwt refuse what they must', () => {
  let server: TestServer
  let confidential: TestClient
  let user: { id: string; username: string; password: string }
  beforeAll(async () => {
    server = await startServer()
    confidential = await server.addClient({ redirectUris: ['https://rp.test/cb'] })
    user = await server.addUser()
  })
  afterAll(() => server.close())

  const auth = (client: TestClient) => ({ authorization: basicAuth(client.clientId, client.secret ?? '') })

  async function push(client: TestClient, overrides: Record<string, string | undefined> = {}, headers: Record<string, string> = auth(client)) {
    const { verifier, challenge } = pkcePair()
    const form = Object.fromEntries(new URLSearchParams(authorizeQuery(client, { code_challenge: challenge, ...overrides })))
    const response = await postForm(`${server.url}/par`, form, headers)
    return { response, verifier, body: (await response.json()) as Record<string, unknown> }
  }

  describe('PAR (RFC 9126)', () => {
    it('§2.2: 201 with a request_uri and its lifetime, never cached', async () => {
      const { response, body } = await push(confidential)
      expect(response.status).toBe(201)
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(body).toEqual({ request_uri: expect.stringMatching(/^urn:ietf:params:oauth:request_uri:[\w-]{43}$/), expires_in: 60 })
    })

    it('§2.1: the request is validated at push time; errors are JSON, with the standard codes', async () => {
      expect((await push(confidential, { scope: 'openid admin' })).body).toMatchObject({ error: 'invalid_scope' })
      expect((await push(confidential, { code_challenge: undefined })).body).toMatchObject({ error: 'invalid_request' })
      expect((await push(confidential, { redirect_uri: 'https://evil.test/cb' })).body).toMatchObject({ error: 'invalid_request' })
      expect((await push(confidential, { request_uri: 'urn:x' })).body).toMatchObject({ error: 'invalid_request' })
      const anonymous = await push(confidential, {}, {})
      expect(anonymous.response.status).toBe(401)
      expect(anonymous.body).toMatchObject({ error: 'invalid_client' })
    })

    it('§4: the request_uri works once, for its client only; loose parameters beside it are ignored', async () => {
      const other = await server.addClient({ redirectUris: ['https://other.test/cb'] })
      const { body, verifier } = await push(confidential, { scope: 'openid' })
      const requestUri = String(body.request_uri)
      const stolen = await new Browser().get(`${server.url}/authorize?${new URLSearchParams({ client_id: other.clientId, request_uri: requestUri })}`)
      expect(stolen.status).toBe(400)
      expect(await stolen.text()).toMatch(/invalid_request_uri|request_uri/)

      // The browser's loose redirect_uri and scope count for nothing: the pushed ones do.
      const query = new URLSearchParams({ client_id: confidential.clientId, request_uri: requestUri, redirect_uri: 'https://evil.test/cb', scope: 'openid email' })
      const { callback } = await authorize(server, new Browser(), query.toString(), user)
      expect(`${callback?.origin}${callback?.pathname}`).toBe('https://rp.test/cb')
      const token = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: 'https://rp.test/cb', code_verifier: verifier }, auth(confidential))
      expect(((await token.json()) as { scope: string }).scope).toBe('openid')

      const again = await new Browser().get(`${server.url}/authorize?${new URLSearchParams({ client_id: confidential.clientId, request_uri: requestUri })}`)
      expect(again.status).toBe(400)
    })

    it('§2.2: a request_uri expires', async () => {
      const { body } = await push(confidential)
      server.clock.advance(61)
      const late = await new Browser().get(`${server.url}/authorize?${new URLSearchParams({ client_id: confidential.clientId, request_uri: String(body.request_uri) })}`)
      expect(late.status).toBe(400)
    })

    it('§6: a client registered with require_pushed_authorization_requests is refused at /authorize without one', async () => {
      const strict = await server.addClient({ redirectUris: ['https://strict.test/cb'], requirePar: true })
      const { callback } = await authorize(server, new Browser(), authorizeQuery(strict, { code_challenge: pkcePair().challenge }), user)
      expect(callback?.searchParams.get('error')).toBe('invalid_request')
      expect(callback?.searchParams.get('error_description')).toMatch(/push/)
    })
  })

  describe('DPoP (RFC 9449)', () => {
    const tokenUrl = () => `${server.url}/token`

    async function code(client: TestClient, overrides: Record<string, string> = {}) {
      const { verifier, challenge } = pkcePair()
      const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: challenge, ...overrides }), user)
      return { code: callback?.searchParams.get('code') ?? '', verifier }
    }

    async function exchange(client: TestClient, proof: string | undefined, overrides: Record<string, string> = {}) {
      const { code: value, verifier } = await code(client, overrides)
      const headers: Record<string, string> = { ...auth(client), ...(proof === undefined ? {} : { dpop: proof }) }
      const response = await postForm(tokenUrl(), { grant_type: 'authorization_code', code: value, redirect_uri: client.redirectUri, code_verifier: verifier }, headers)
      return { response, body: (await response.json()) as Record<string, unknown> }
    }

    it('§4.3: a proof works once; another URL, another method, an old iat or a private jwk is invalid_dpop_proof', async () => {
      const key = await dpopKey()
      const proof = await key.proof('POST', tokenUrl())
      expect((await exchange(confidential, proof)).body).toMatchObject({ token_type: 'DPoP' })
      expect((await exchange(confidential, proof)).body).toMatchObject({ error: 'invalid_dpop_proof' })
      expect((await exchange(confidential, await key.proof('POST', `${server.url}/par`))).body).toMatchObject({ error: 'invalid_dpop_proof' })
      expect((await exchange(confidential, await key.proof('GET', tokenUrl()))).body).toMatchObject({ error: 'invalid_dpop_proof' })
      expect((await exchange(confidential, await key.proof('POST', tokenUrl(), { iat: server.clock.now() - 600 }))).body).toMatchObject({ error: 'invalid_dpop_proof' })
      const leaky = { ...key.jwk, ...(await exportJWK(key.privateKey as CryptoKey)) }
      expect((await exchange(confidential, await key.proof('POST', tokenUrl(), {}, { jwk: leaky }))).body).toMatchObject({ error: 'invalid_dpop_proof' })
      expect((await exchange(confidential, await key.proof('POST', tokenUrl(), {}, { typ: 'JWT' }))).body).toMatchObject({ error: 'invalid_dpop_proof' })
    })

    it('§7.1: a bound token is refused as Bearer at userinfo; with the DPoP scheme it needs a proof with its ath', async () => {
      const key = await dpopKey()
      const { body } = await exchange(confidential, await key.proof('POST', tokenUrl()))
      const token = String(body.access_token)
      const userinfo = `${server.url}/userinfo`
      const asBearer = await fetch(userinfo, { headers: { authorization: `Bearer ${token}` } })
      expect(asBearer.status).toBe(401)
      expect(asBearer.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
      const noAth = await fetch(userinfo, { headers: { authorization: `DPoP ${token}`, dpop: await key.proof('GET', userinfo) } })
      expect(noAth.status).toBe(401)
      expect(noAth.headers.get('www-authenticate')).toMatch(/^DPoP algs="[^"]+", error="invalid_dpop_proof"/)
      const ath = createHash('sha256').update(token).digest('base64url')
      const other = await dpopKey()
      const wrongKey = await fetch(userinfo, { headers: { authorization: `DPoP ${token}`, dpop: await other.proof('GET', userinfo, { ath }) } })
      expect(wrongKey.status).toBe(401)
      const ok = await fetch(userinfo, { headers: { authorization: `DPoP ${token}`, dpop: await key.proof('GET', userinfo, { ath }) } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('dpop-nonce')).toEqual(expect.any(String))
    })

    it('§10: dpop_jkt at /authorize binds the code: an exchange proving another key, or none, is invalid_grant', async () => {
      const key = await dpopKey()
      const other = await dpopKey()
      expect((await exchange(confidential, await other.proof('POST', tokenUrl()), { dpop_jkt: key.jkt })).body).toMatchObject({ error: 'invalid_grant' })
      expect((await exchange(confidential, undefined, { dpop_jkt: key.jkt })).body).toMatchObject({ error: 'invalid_grant' })
      expect((await exchange(confidential, await key.proof('POST', tokenUrl()), { dpop_jkt: key.jkt })).body).toMatchObject({ token_type: 'DPoP' })
      const malformed = await authorize(server, new Browser(), authorizeQuery(confidential, { code_challenge: pkcePair().challenge, dpop_jkt: 'not-a-thumbprint' }), user)
      expect(malformed.callback?.searchParams.get('error')).toBe('invalid_request')
    })

    it('§5.2: a client registered with dpop_bound_access_tokens gets no token without a proof', async () => {
      const bound = await server.addClient({ redirectUris: ['https://bound.test/cb'], requireDpop: true })
      expect((await exchange(bound, undefined)).body).toMatchObject({ error: 'invalid_dpop_proof' })
    })

    it('§4.3: two DPoP headers are refused', async () => {
      const key = await dpopKey()
      const { code: value, verifier } = await code(confidential)
      const headers = new Headers({ ...auth(confidential), 'content-type': 'application/x-www-form-urlencoded' })
      headers.append('dpop', await key.proof('POST', tokenUrl()))
      headers.append('dpop', await key.proof('POST', tokenUrl()))
      const response = await fetch(tokenUrl(), { method: 'POST', headers, body: new URLSearchParams({ grant_type: 'authorization_code', code: value, redirect_uri: confidential.redirectUri, code_verifier: verifier }) })
      expect(response.status).toBe(400)
    })
  })

  describe('DPoP with server nonces (RFC 9449 §8)', () => {
    let strict: TestServer
    beforeAll(async () => {
      strict = await startServer({ dpop: { requireNonce: true } })
    })
    afterAll(() => strict.close())

    it('a proof without the nonce is use_dpop_nonce with a DPoP-Nonce to use; with it the request succeeds', async () => {
      const client = await strict.addClient()
      const person = await strict.addUser()
      const key = await dpopKey()
      const { verifier, challenge } = pkcePair()
      const { callback } = await authorize(strict, new Browser(), authorizeQuery(client, { code_challenge: challenge }), person)
      const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: client.redirectUri, code_verifier: verifier }
      const url = `${strict.url}/token`
      const first = await postForm(url, form, { ...auth(client), dpop: await key.proof('POST', url) })
      expect(first.status).toBe(400)
      expect(await first.json()).toMatchObject({ error: 'use_dpop_nonce' })
      const nonce = first.headers.get('dpop-nonce') ?? ''
      expect(nonce).not.toBe('')
      expect((await postForm(url, form, { ...auth(client), dpop: await key.proof('POST', url, { nonce: 'forged' }) })).status).toBe(400)
      const second = await postForm(url, form, { ...auth(client), dpop: await key.proof('POST', url, { nonce }) })
      expect(second.status).toBe(200)
    })
  })

  describe('private_key_jwt (RFC 7523)', () => {
    let signer: TestClient
    let privateKey: CryptoKey
    beforeAll(async () => {
      const pair = await generateKeyPair('ES256')
      privateKey = pair.privateKey
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1' }
      signer = await server.addClient({ redirectUris: ['https://signer.test/cb'], authMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [jwk] }) })
    })

    const assertion = (claims: Record<string, unknown> = {}, lifetime = 60) =>
      new SignJWT({ jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(signer.clientId)
        .setSubject(signer.clientId)
        .setAudience(typeof claims.aud === 'string' ? claims.aud : server.url)
        .setIssuedAt(server.clock.now())
        .setExpirationTime(server.clock.now() + lifetime)
        .sign(privateKey)

    const introspect = (value: string, extra: Record<string, string> = {}) =>
      postForm(`${server.url}/introspect`, { token: 'x', client_assertion_type: ASSERTION_TYPE, client_assertion: value, ...extra })

    it('an assertion works once; its audience may be the issuer or the endpoint', async () => {
      const once = await assertion()
      expect((await introspect(once)).status).toBe(200)
      expect((await introspect(once)).status).toBe(401)
      expect((await introspect(await assertion({ aud: `${server.url}/introspect` }))).status).toBe(200)
    })

    it('another audience, a long life, an expired one, a MAC or a secret for this client: invalid_client', async () => {
      expect((await introspect(await assertion({ aud: 'https://elsewhere.test' }))).status).toBe(401)
      expect((await introspect(await assertion({}, 3600))).status).toBe(401)
      expect((await introspect(await assertion({}, -60))).status).toBe(401)
      const mac = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(signer.clientId)
        .setSubject(signer.clientId)
        .setAudience(server.url)
        .setExpirationTime(server.clock.now() + 60)
        .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'))
      expect((await introspect(mac)).status).toBe(401)
      const response = await postForm(`${server.url}/introspect`, { token: 'x', client_id: signer.clientId, client_secret: 'guess' })
      expect(response.status).toBe(401)
    })

    it('an assertion beside Basic credentials is two methods: invalid_request', async () => {
      const response = await postForm(`${server.url}/introspect`, { token: 'x', client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion() }, auth(confidential))
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ error: 'invalid_request' })
    })

    it('a secret client cannot authenticate with an assertion naming it', async () => {
      const forged = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(confidential.clientId)
        .setSubject(confidential.clientId)
        .setAudience(server.url)
        .setExpirationTime(server.clock.now() + 60)
        .sign(privateKey)
      expect((await introspect(forged)).status).toBe(401)
    })
  })
})
