/**
 * `returnTo` over HTTP (SECURITY 12): only a safe ASCII path is remembered at `/login`; anything
 * else is dropped there, before the attempt is stored, so the callback — which runs after the code
 * is redeemed — can never fail because of it and leave a session no cookie points to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionKey } from '../src/internal/context.js'
import { FakeAuthorizationServer } from './fake-as.js'
import { Caller, clientFor, KeyedTokenStore, startApp, type TestApp } from './helpers.js'

const SESSION_COOKIE = '__Host-authcode_app_session'

let fake: FakeAuthorizationServer
let tokens: KeyedTokenStore
let app: TestApp

beforeAll(async () => {
  fake = new FakeAuthorizationServer()
  tokens = new KeyedTokenStore()
  app = await startApp(clientFor(fake, { tokenStore: tokens }))
})

afterAll(async () => {
  await app?.close()
})

/** `/login?returnTo=…`, the server's approval, the callback; as one browser. */
async function logIn(returnTo: string) {
  const browser = new Caller(app, '127.0.0.1')
  try {
    const login = await browser.get(`/login?${new URLSearchParams({ returnTo })}`)
    expect(login.status).toBe(302)
    const redeemedBefore = fake.tokenRequests.length
    const done = await browser.get(fake.authorize(new URL(login.location ?? '')))
    return { done, redeemed: fake.tokenRequests.length - redeemedBefore, session: browser.cookies.get(SESSION_COOKIE) }
  } finally {
    browser.close()
  }
}

describe('returnTo (SECURITY 12)', () => {
  it('SECURITY 12: a returnTo with raw non-ASCII or control characters falls back to "/" at /login; the callback still opens the session and no orphan session remains', async () => {
    for (const returnTo of ['/\u2028', '/日本語', '/ünïcode', '/a\u0085b', '/tab\u00a0x', '/a b']) {
      tokens.keys.clear()
      const { done, redeemed, session } = await logIn(returnTo)
      expect(redeemed, JSON.stringify(returnTo)).toBe(1)
      expect([done.status, done.location], JSON.stringify(returnTo)).toEqual([303, '/'])
      expect(session).toBeDefined()
      // Every session the redeemed code opened is the one the browser holds a cookie for.
      expect([...tokens.keys]).toEqual([sessionKey(session ?? '')])
    }
  })

  it('SECURITY 12: a percent-encoded path and query are kept as given', async () => {
    for (const returnTo of ['/caf%C3%A9?q=%E2%80%A8', '/reports?year=2026&tab=a%20b#top']) {
      const { done } = await logIn(returnTo)
      expect([done.status, done.location]).toEqual([303, returnTo])
    }
  })

  it('RFC 9700 §4.11.1: an off-site or ambiguous returnTo falls back to "/" (no open redirect)', async () => {
    for (const returnTo of ['//evil.test/x', 'https://evil.test/', '/\\evil.test', 'evil.test', '/\t/evil.test', 'javascript:alert(1)']) {
      const { done } = await logIn(returnTo)
      expect([done.status, done.location], JSON.stringify(returnTo)).toEqual([303, '/'])
    }
  })
})
