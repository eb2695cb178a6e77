/**
 * An in-memory authorization server for tests, reached through the client's `fetch` option (no
 * sockets): metadata, authorization (as a function the test calls), token (code and refresh grants
 * with rotation), JWKS, revocation, userinfo and a protected API. Every request is recorded, and
 * each answer can be tampered with to play an attacker or a broken server.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

export const ISSUER = 'https://as.test'
export const CLIENT_ID = 'client-1'
export const CLIENT_SECRET = 'secret with spaces & symbols'
export const REDIRECT_URI = 'https://rp.test/cb'
export const API = 'https://api.test/orders'

export interface RecordedRequest {
  url: URL
  method: string
  headers: Headers
  form: URLSearchParams
}

interface CodeGrant {
  clientId: string
  redirectUri: string
  challenge: string
  nonce: string | undefined
  scope: string
  used: boolean
}

export interface IdTokenTamper {
  claims?: Record<string, unknown>
  /** Sign with a key that is not in the JWKS. */
  foreignKey?: boolean
  /** Replace the signature's last characters. */
  breakSignature?: boolean
  header?: Record<string, unknown>
}

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers } })
}

export class FakeAuthorizationServer {
  readonly requests: RecordedRequest[] = []
  readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  readonly foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  readonly #codes = new Map<string, CodeGrant>()
  /** Refresh tokens: value → { active, subject nonce-free claims } */
  readonly refreshTokens = new Map<string, { active: boolean; scope: string }>()
  readonly accessTokens = new Set<string>()
  /** Seconds since the epoch; tests move it. */
  now = Math.floor(Date.now() / 1000)
  accessTokenLifetime = 300
  subject = 'user-1'
  /** Metadata overrides (`undefined` values delete the field). */
  metadata: Record<string, unknown> = {}
  /** RFC 8414 document missing (404), so discovery must fall back to OpenID. */
  oauthMetadataMissing = false
  /** Changes the next ID tokens. */
  idTokenTamper: IdTokenTamper | undefined
  /** Rotates refresh tokens (default) or keeps them. */
  rotateRefreshTokens = true
  /** When set, token requests wait for it before answering (to hold a refresh in flight). */
  tokenGate: Promise<void> | undefined
  /** Replaces the token endpoint's answer. */
  tokenOverride: ((form: URLSearchParams) => Response | undefined) | undefined

  /**
   * Every secret of the flows so far as this server saw them: the client secret, every code, PKCE
   * verifier, refresh token and token sent to it, every Bearer token presented, every token issued.
   */
  secretsSeen(): string[] {
    const values = new Set<string>([CLIENT_SECRET])
    for (const request of this.requests) {
      for (const name of ['code', 'code_verifier', 'refresh_token', 'token']) {
        const value = request.form.get(name)
        if (value !== null) values.add(value)
      }
      const bearer = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1]
      if (bearer !== undefined) values.add(bearer)
    }
    for (const token of this.accessTokens) values.add(token)
    for (const token of this.refreshTokens.keys()) values.add(token)
    return [...values]
  }

  /** The client's `fetch` option. */
  fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input)
    const headers = new Headers(init.headers as Record<string, string>)
    const form = new URLSearchParams(typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : '')
    this.requests.push({ url, method: init.method ?? 'GET', headers, form })
    return this.#route(url, init.method ?? 'GET', headers, form)
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.pathname === path)
  }

  get tokenRequests(): RecordedRequest[] {
    return this.requestsTo('/token')
  }

  refreshRequests(): RecordedRequest[] {
    return this.tokenRequests.filter((r) => r.form.get('grant_type') === 'refresh_token')
  }

  serverMetadata(): Record<string, unknown> {
    const document: Record<string, unknown> = {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      revocation_endpoint: `${ISSUER}/revoke`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      jwks_uri: `${ISSUER}/jwks`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['ES256'],
      authorization_response_iss_parameter_supported: true,
    }
    for (const [k, v] of Object.entries(this.metadata)) {
      if (v === undefined) delete document[k]
      else document[k] = v
    }
    return document
  }

  /**
   * What the server would do with the authorization URL for a user who approves: the callback URL
   * with a fresh code, the request's `state`, and `iss`.
   */
  authorize(authorizationUrl: URL): URL {
    const p = authorizationUrl.searchParams
    if (p.get('code_challenge_method') !== 'S256') throw new Error('fake AS: S256 required')
    const code = randomBytes(16).toString('base64url')
    this.#codes.set(code, {
      clientId: p.get('client_id') ?? '',
      redirectUri: p.get('redirect_uri') ?? '',
      challenge: p.get('code_challenge') ?? '',
      nonce: p.get('nonce') ?? undefined,
      scope: p.get('scope') ?? '',
      used: false,
    })
    const callback = new URL(p.get('redirect_uri') ?? REDIRECT_URI)
    callback.searchParams.set('code', code)
    const state = p.get('state')
    if (state !== null) callback.searchParams.set('state', state)
    callback.searchParams.set('iss', ISSUER)
    return callback
  }

  idToken(nonce: string | undefined, tamper: IdTokenTamper | undefined = this.idTokenTamper): string {
    const header = { alg: 'ES256', typ: 'JWT', kid: 'k1', ...tamper?.header }
    const claims: Record<string, unknown> = {
      iss: ISSUER,
      sub: this.subject,
      aud: CLIENT_ID,
      iat: this.now,
      exp: this.now + 300,
      ...(nonce === undefined ? {} : { nonce }),
      name: 'Alice Example',
      ...tamper?.claims,
    }
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k]
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const key: KeyObject = tamper?.foreignKey === true ? this.foreign.privateKey : this.key.privateKey
    let signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
    if (tamper?.breakSignature === true) signature = signature.slice(0, -4) + (signature.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    return `${input}.${signature}`
  }

  #issueTokens(scope: string, nonce: string | undefined, withIdToken: boolean): Record<string, unknown> {
    const accessToken = randomBytes(16).toString('base64url')
    const refreshToken = randomBytes(16).toString('base64url')
    this.accessTokens.add(accessToken)
    this.refreshTokens.set(refreshToken, { active: true, scope })
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.accessTokenLifetime,
      refresh_token: refreshToken,
      scope,
      ...(withIdToken ? { id_token: this.idToken(nonce) } : {}),
    }
  }

  #clientAuthenticated(headers: Headers, form: URLSearchParams): boolean {
    const basic = /^Basic (.+)$/.exec(headers.get('authorization') ?? '')?.[1]
    if (basic !== undefined) {
      // RFC 6749 §2.3.1: form-urlencoded id and secret, then base64.
      const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' ')))
      return id === CLIENT_ID && secret === CLIENT_SECRET
    }
    return form.get('client_id') === CLIENT_ID && form.get('client_secret') === CLIENT_SECRET
  }

  async #route(url: URL, method: string, headers: Headers, form: URLSearchParams): Promise<Response> {
    switch (url.pathname) {
      case '/.well-known/oauth-authorization-server':
        return this.oauthMetadataMissing ? new Response('not found', { status: 404 }) : json(this.serverMetadata())
      case '/.well-known/openid-configuration':
        return json(this.serverMetadata())
      case '/jwks':
        return json({ keys: [{ ...this.key.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] })
      case '/token':
        if (method !== 'POST') return json({ error: 'invalid_request' }, 405)
        if (this.tokenGate !== undefined) await this.tokenGate
        return this.tokenOverride?.(form) ?? this.#token(headers, form)
      case '/revoke':
        if (!this.#clientAuthenticated(headers, form)) return json({ error: 'invalid_client' }, 401)
        this.refreshTokens.delete(form.get('token') ?? '')
        this.accessTokens.delete(form.get('token') ?? '')
        return new Response(null, { status: 200 })
      case '/userinfo':
      case '/orders': {
        const token = /^Bearer (.+)$/.exec(headers.get('authorization') ?? '')?.[1]
        if (token === undefined || !this.accessTokens.has(token)) {
          return json({ error: 'invalid_token' }, 401, { 'www-authenticate': 'Bearer error="invalid_token", error_description="the access token is not valid"' })
        }
        return url.pathname === '/userinfo' ? json({ sub: this.subject, name: 'Alice Example' }) : json({ orders: [1, 2] })
      }
      default:
        return json({ error: 'not_found' }, 404)
    }
  }

  #token(headers: Headers, form: URLSearchParams): Response {
    if (!this.#clientAuthenticated(headers, form)) return json({ error: 'invalid_client' }, 401)
    if (form.get('grant_type') === 'authorization_code') {
      const grant = this.#codes.get(form.get('code') ?? '')
      if (grant === undefined || grant.used) return json({ error: 'invalid_grant', error_description: 'unknown or used code' }, 400)
      grant.used = true
      const verifier = form.get('code_verifier') ?? ''
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      if (challenge !== grant.challenge || form.get('redirect_uri') !== grant.redirectUri) return json({ error: 'invalid_grant' }, 400)
      return json(this.#issueTokens(grant.scope, grant.nonce, grant.scope.split(' ').includes('openid')))
    }
    if (form.get('grant_type') === 'refresh_token') {
      const presented = form.get('refresh_token') ?? ''
      const entry = this.refreshTokens.get(presented)
      if (entry === undefined || !entry.active) return json({ error: 'invalid_grant', error_description: 'the refresh token is not active' }, 400)
      const issued = this.#issueTokens(entry.scope, undefined, false)
      if (this.rotateRefreshTokens) {
        entry.active = false
      } else {
        this.refreshTokens.delete(issued.refresh_token as string)
        delete issued.refresh_token
      }
      return json(issued)
    }
    return json({ error: 'unsupported_grant_type' }, 400)
  }
}

/** A promise and its resolver, to hold a request in flight. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
