/** Per-attempt state, PKCE and nonce (CL-01, CL-23; RFC 7636 §4.1–4.2). */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { OAuthClient } from '../client.js'
import { MemoryLoginStateStore } from '../storage/memory.js'
import { safeReturnTo } from './authorization-url.js'

function setup(scope = 'openid profile') {
  const store = new MemoryLoginStateStore()
  let now = 1_700_000_000
  const client = new OAuthClient({
    server: { kind: 'endpoints', issuer: 'https://as.test', authorizationEndpoint: 'https://as.test/authorize?tenant=a', tokenEndpoint: 'https://as.test/token' },
    clientId: 'c1',
    clientSecret: 's1',
    redirectUri: 'https://rp.test/cb',
    scope,
    loginStateStore: store,
    now: () => now,
  })
  return { client, store, advance: (s: number) => (now += s), now: () => now }
}

describe('buildAuthorizationUrl', () => {
  it('sends a fresh state, S256 challenge and nonce, and keeps the verifier server-side', async () => {
    const { client, store, now } = setup()
    const { url, loginId, expiresAt } = await client.buildAuthorizationUrl()
    const p = url.searchParams
    expect(p.get('tenant')).toBe('a')
    expect(p.get('response_type')).toBe('code')
    expect(p.get('client_id')).toBe('c1')
    expect(p.get('redirect_uri')).toBe('https://rp.test/cb')
    expect(p.get('code_challenge_method')).toBe('S256')
    expect(p.get('code_verifier')).toBeNull()
    expect(expiresAt).toBe(now() + 600)
    const entry = await store.take(loginId, now())
    expect(entry?.state).toBe(p.get('state'))
    expect(entry?.nonce).toBe(p.get('nonce'))
    expect(entry?.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(createHash('sha256').update(entry?.codeVerifier ?? '').digest('base64url')).toBe(p.get('code_challenge'))
    expect(Buffer.from(entry?.state ?? '', 'base64url').length).toBeGreaterThanOrEqual(16)
  })

  it('never repeats a value across attempts', async () => {
    const { client } = setup()
    const urls = await Promise.all(Array.from({ length: 20 }, () => client.buildAuthorizationUrl()))
    for (const name of ['state', 'nonce', 'code_challenge']) {
      expect(new Set(urls.map((u) => u.url.searchParams.get(name))).size).toBe(20)
    }
    expect(new Set(urls.map((u) => u.loginId)).size).toBe(20)
  })

  it('sends no nonce without openid', async () => {
    const { client } = setup('api.read')
    const { url } = await client.buildAuthorizationUrl()
    expect(url.searchParams.has('nonce')).toBe(false)
  })

  it('entries are single-use and expire', async () => {
    const { client, store, advance, now } = setup()
    const a = await client.buildAuthorizationUrl()
    expect(await store.take(a.loginId, now())).toBeDefined()
    expect(await store.take(a.loginId, now())).toBeUndefined()
    const b = await client.buildAuthorizationUrl()
    advance(600)
    expect(await store.take(b.loginId, now())).toBeUndefined()
  })

  it('refuses to let extraParams override the flow, and prompt=none with max_age=0', async () => {
    const { client } = setup()
    await expect(client.buildAuthorizationUrl({ extraParams: { state: 'x' } })).rejects.toThrow(TypeError)
    await expect(client.buildAuthorizationUrl({ extraParams: { redirect_uri: 'https://evil.test' } })).rejects.toThrow(TypeError)
    await expect(client.buildAuthorizationUrl({ prompt: 'none', maxAge: 0 })).rejects.toThrow(TypeError)
    const { url } = await client.buildAuthorizationUrl({ extraParams: { ui_locales: 'fr' }, prompt: 'login', maxAge: 60 })
    expect(url.searchParams.get('ui_locales')).toBe('fr')
    expect(url.searchParams.get('max_age')).toBe('60')
  })

  it('accepts only same-origin returnTo paths (CL-19)', async () => {
    const { client } = setup()
    await expect(client.buildAuthorizationUrl({ returnTo: 'https://evil.test/' })).rejects.toThrow(TypeError)
    for (const bad of ['//evil.test', '/\\evil.test', 'https://evil.test', 'evil', '/a\nb', '/\t/evil.test']) expect(safeReturnTo(bad)).toBeUndefined()
    for (const good of ['/', '/dashboard?tab=1#x', '/a/b']) expect(safeReturnTo(good)).toBe(good)
  })

  it('SECURITY 12: returnTo is safe ASCII: raw non-ASCII, spaces and Unicode line breaks are refused before anything is stored', async () => {
    const { client, store } = setup()
    for (const bad of ['/ünïcode', '/\u2028', '/\u0085', '/\u00a0', '/日本', '/a b', '/\u{1f600}', '/a\\b', `/${'a'.repeat(2048)}`]) {
      expect(safeReturnTo(bad), JSON.stringify(bad)).toBeUndefined()
      await expect(client.buildAuthorizationUrl({ returnTo: bad })).rejects.toThrow(TypeError)
    }
    expect(store.size).toBe(0)
    for (const good of ['/caf%C3%A9', '/%E2%80%A8', "/a!$&'()*+,;=:@-._~?x=[1]&y={2}|`^\"<>", '/a//b']) expect(safeReturnTo(good)).toBe(good)
  })

  it('SECURITY 9: counts the attempt against the caller it is given (IPv6 per /64); refuses a non-string', async () => {
    const { client, store, now } = setup()
    const { loginId } = await client.buildAuthorizationUrl({ callerAddress: '2001:db8:0:1::42' })
    expect((await store.take(loginId, now()))?.caller).toBe('2001:db8:0:1::/64')
    const anonymous = await client.buildAuthorizationUrl()
    expect((await store.take(anonymous.loginId, now()))?.caller).toBeUndefined()
    await expect(client.buildAuthorizationUrl({ callerAddress: '' })).rejects.toThrow(TypeError)
  })
})
