/**
 * The `onEvent` hook (src/events.ts): one typed event per step of the flow, in order, with timings
 * and the parameters that matter, and never a secret — codes, tokens, the client secret, `state`,
 * the PKCE verifier, the nonce, login and session ids appear only as 6-hex-character fingerprints.
 */
import { createHash } from 'node:crypto'
import { beforeEach, describe, expect, it } from 'vitest'
import { fingerprint, type FlowEvent } from '../src/events.js'
import { API, CLIENT_SECRET, FakeAuthorizationServer, ISSUER } from './fake-as.js'
import { clientFor } from './helpers.js'

let fake: FakeAuthorizationServer
let events: FlowEvent[]

beforeEach(() => {
  fake = new FakeAuthorizationServer()
  events = []
})

const observed = () => clientFor(fake, { onEvent: (event) => events.push(event) })

function only<T extends FlowEvent['type']>(type: T): Extract<FlowEvent, { type: T }>[] {
  return events.filter((e): e is Extract<FlowEvent, { type: T }> => e.type === type)
}

/** Every secret the flow handled: the fake server's side of it, and `extra` from the client's side. */
function secretsSeen(extra: (string | undefined)[]): string[] {
  return [...new Set([...fake.secretsSeen(), ...extra.filter((value): value is string => value !== undefined)])]
}

describe('onEvent', () => {
  it('fingerprint is the first 6 hex characters of the SHA-256', () => {
    expect(fingerprint('abc')).toBe(createHash('sha256').update('abc').digest('hex').slice(0, 6))
    expect(fingerprint('abc')).toMatch(/^[0-9a-f]{6}$/)
  })

  it('RFC 6749 §4.1: one event per step, in order, with timings and fingerprints only', async () => {
    fake.idTokenTamper = { claims: { auth_time: fake.now - 5 } }
    const client = observed()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const callback = fake.authorize(url)
    const { sessionId, tokens } = await client.handleCallback({ loginId, url: callback })
    await client.userinfo(sessionId)
    await client.fetch(sessionId, API)
    await client.refresh(sessionId)
    await client.logout(sessionId)

    expect(events.map((e) => (e.type === 'token' ? `token:${e.grant}` : e.type))).toEqual([
      'authorization_request', 'callback', 'token:authorization_code', 'resource', 'resource', 'token:refresh_token', 'revocation',
    ])
    for (const event of events) {
      expect(Object.isFrozen(event)).toBe(true)
      expect(event.at).toBeGreaterThan(Date.now() - 60_000)
      expect(event.durationMs).toBeGreaterThanOrEqual(0)
    }
    const state = url.searchParams.get('state') ?? ''
    const [request] = only('authorization_request')
    expect(request).toMatchObject({
      attempt: fingerprint(loginId), endpoint: `${ISSUER}/authorize`, scope: 'openid profile', state: fingerprint(state),
      codeChallenge: fingerprint(url.searchParams.get('code_challenge') ?? ''), codeChallengeMethod: 'S256',
      nonce: fingerprint(url.searchParams.get('nonce') ?? ''),
    })
    expect(only('callback')[0]).toMatchObject({
      outcome: 'accepted', attempt: fingerprint(loginId), issuer: ISSUER, error: undefined,
      received: { code: fingerprint(callback.searchParams.get('code') ?? ''), state: fingerprint(state), iss: ISSUER },
      checks: { attempt: 'passed', state: 'passed', iss: 'passed' },
    })
    const [exchange, refresh] = only('token')
    const verifier = fake.tokenRequests[0]?.form.get('code_verifier') ?? ''
    expect(request?.codeVerifier).toBe(fingerprint(verifier))
    expect(exchange).toMatchObject({
      endpoint: `${ISSUER}/token`, authMethod: 'client_secret_basic', clientSecret: fingerprint(CLIENT_SECRET),
      code: fingerprint(callback.searchParams.get('code') ?? ''), codeVerifier: fingerprint(verifier), session: fingerprint(sessionId), status: 200,
      response: {
        tokenType: 'bearer', expiresIn: 300, scope: 'openid profile', accessToken: fingerprint(tokens.accessToken),
        refreshToken: fingerprint(tokens.refreshToken ?? ''), idToken: fingerprint(tokens.idToken ?? ''),
        authTime: fake.now - 5, idTokenIssuedAt: fake.now, idTokenExpiresAt: fake.now + 300,
      },
      error: undefined, sessionEnded: false,
    })
    expect(refresh).toMatchObject({ grant: 'refresh_token', refreshToken: fingerprint(tokens.refreshToken ?? ''), status: 200, session: fingerprint(sessionId) })
    expect(refresh?.response?.refreshToken).not.toBe(fingerprint(tokens.refreshToken ?? ''))
    expect(only('resource').map((e) => [e.kind, e.method, e.url, e.status, e.try])).toEqual([
      ['userinfo', 'GET', `${ISSUER}/userinfo`, 200, 1],
      ['resource', 'GET', API, 200, 1],
    ])
    expect(only('revocation')[0]).toMatchObject({ outcome: 'revoked', endpoint: `${ISSUER}/revoke`, tokenTypeHint: 'refresh_token', session: fingerprint(sessionId) })

    const text = JSON.stringify(events)
    const secrets = secretsSeen([state, loginId, sessionId, url.searchParams.get('nonce') ?? undefined, tokens.accessToken, tokens.refreshToken, tokens.idToken])
    expect(secrets.length).toBeGreaterThanOrEqual(10)
    for (const secret of secrets) expect(text).not.toContain(secret)
  })

  it('RFC 6749 §10.12: a wrong state is a refused callback, and no token request follows', async () => {
    const client = observed()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const callback = fake.authorize(url)
    callback.searchParams.set('state', 'forged')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'STATE_MISMATCH' })
    expect(events.map((e) => e.type)).toEqual(['authorization_request', 'callback'])
    expect(only('callback')[0]).toMatchObject({
      outcome: 'refused', received: { state: fingerprint('forged') },
      checks: { attempt: 'passed', state: 'failed', iss: 'not_reached' }, error: { code: 'STATE_MISMATCH' },
    })
  })

  it('a callback without a login cookie is refused before any check', async () => {
    const client = observed()
    await expect(client.handleCallback({ loginId: undefined, url: '/cb?code=x&state=y' })).rejects.toMatchObject({ code: 'LOGIN_NOT_FOUND' })
    expect(only('callback')[0]).toMatchObject({ outcome: 'refused', attempt: undefined, checks: { attempt: 'failed', state: 'not_reached', iss: 'not_reached' } })
  })

  it('RFC 6749 §4.1.2.1: a denial is an error response, after state and iss were checked', async () => {
    const client = observed()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const denied = new URL('https://rp.test/cb')
    denied.search = new URLSearchParams({ error: 'access_denied', error_description: 'the user said <no>', state: url.searchParams.get('state') ?? '', iss: ISSUER }).toString()
    await expect(client.handleCallback({ loginId, url: denied })).rejects.toMatchObject({ code: 'AUTHORIZATION_ERROR' })
    expect(only('callback')[0]).toMatchObject({
      outcome: 'error_response', received: { code: undefined, error: 'access_denied' },
      checks: { attempt: 'passed', state: 'passed', iss: 'passed' },
      error: { code: 'AUTHORIZATION_ERROR', error: 'access_denied', errorDescription: 'the user said <no>' },
    })
    expect(only('token')).toEqual([])
  })

  it('RFC 9207 §2.4: a callback from another issuer fails the iss check', async () => {
    const client = observed()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const callback = fake.authorize(url)
    callback.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
    expect(only('callback')[0]).toMatchObject({ outcome: 'refused', received: { iss: 'https://evil.test' }, checks: { state: 'passed', iss: 'failed' } })
  })

  it('RFC 6749 §4.1.2: a replayed code is an invalid_grant token event', async () => {
    const client = observed()
    const first = await client.buildAuthorizationUrl()
    const callback = fake.authorize(first.url)
    await client.handleCallback({ loginId: first.loginId, url: callback })
    const second = await client.buildAuthorizationUrl()
    const replay = new URL(callback)
    replay.searchParams.set('state', second.url.searchParams.get('state') ?? '')
    await expect(client.handleCallback({ loginId: second.loginId, url: replay })).rejects.toMatchObject({ code: 'INVALID_GRANT' })
    const failed = only('token')[1]
    expect(failed).toMatchObject({
      grant: 'authorization_code', status: 400, response: undefined, code: fingerprint(callback.searchParams.get('code') ?? ''),
      error: { code: 'INVALID_GRANT', error: 'invalid_grant', errorDescription: 'unknown or used code', status: 400 },
    })
    expect(only('callback')[1]).toMatchObject({ outcome: 'accepted' })
  })

  it('RFC 6749 §6: a refused refresh token ends the session, and the event says so', async () => {
    const client = observed()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const { sessionId, tokens } = await client.handleCallback({ loginId, url: fake.authorize(url) })
    fake.refreshTokens.delete(tokens.refreshToken ?? '')
    await expect(client.refresh(sessionId)).rejects.toMatchObject({ code: 'SESSION_ENDED' })
    expect(only('token')[1]).toMatchObject({ grant: 'refresh_token', status: 400, sessionEnded: true, error: { error: 'invalid_grant' } })
  })

  it('RFC 6750 §3.1: a refused access token, the refresh and the retry are three events', async () => {
    const client = observed()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const { sessionId } = await client.handleCallback({ loginId, url: fake.authorize(url) })
    fake.accessTokens.clear()
    expect((await client.fetch(sessionId, API)).status).toBe(200)
    const after = events.slice(3)
    expect(after.map((e) => e.type)).toEqual(['resource', 'token', 'resource'])
    expect(after[0]).toMatchObject({ try: 1, status: 401, error: { code: 'RESOURCE_REFUSED', error: 'invalid_token' } })
    expect(after[2]).toMatchObject({ try: 2, status: 200, error: undefined })
  })

  it('a listener that throws changes nothing; a listener that is not a function is a TypeError', async () => {
    const client = clientFor(fake, {
      onEvent: () => {
        throw new Error('listener bug')
      },
    })
    const { url, loginId } = await client.buildAuthorizationUrl()
    const { sessionId } = await client.handleCallback({ loginId, url: fake.authorize(url) })
    expect(await client.logout(sessionId)).toMatchObject({ revoked: true })
    expect(() => clientFor(fake, { onEvent: 'log' as unknown as () => void })).toThrow(TypeError)
  })
})
