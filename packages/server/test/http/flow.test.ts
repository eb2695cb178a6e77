import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, authorize, authorizeQuery, obtainTokens, pkcePair, startServer, type TestServer } from '../harness.js'

describe('the authorization code flow over HTTP', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server.close())

  it('RFC 6749 §4.1: login, consent, code with state and iss (RFC 9207), then tokens', async () => {
    const client = await server.addClient()
    const user = await server.addUser()
    const browser = new Browser()
    const { challenge } = pkcePair()
    const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
    expect(callback?.origin + (callback?.pathname ?? '')).toBe(client.redirectUri)
    expect(callback?.searchParams.get('state')).toBe('S1')
    expect(callback?.searchParams.get('iss')).toBe(server.url)
    expect(callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)

    const { tokens } = await obtainTokens(server, client, user)
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'openid profile email' })
    expect(typeof tokens.access_token).toBe('string')
    expect(typeof tokens.refresh_token).toBe('string')
    expect(typeof tokens.id_token).toBe('string')
  })
})
