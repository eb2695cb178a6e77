/**
 * SECURITY 28: behind proxies, the caller's address is the right-most `X-Forwarded-For`
 * entry that no trusted proxy wrote, never the left-most one, which the caller writes itself.
 * Without `trustProxy`, `X-Forwarded-*` is ignored and the caller is the connection's peer.
 *
 * Observed where it matters, through the login-per-IP throttle: with `rateLimit.loginPerIp.max`
 * at 1, one failed sign-in at `/account/login` uses up the caller's address, and the next attempt
 * answers 429 exactly when it is seen as coming from the same address. Requests go through
 * `app.inject`, whose `remoteAddress` is the connection's peer (a proxy, or a client that
 * connects directly). Every attempt names another username, so the per-account limit never
 * answers in the per-IP limit's place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hiddenInput, startServer, type TestServer } from '../harness.js'

let attempts = 0

/** One sign-in with a wrong password at `/account/login` from the peer `remoteAddress`, with `X-Forwarded-For` when given; the status. */
async function signIn(server: TestServer, remoteAddress: string, forwardedFor?: string): Promise<number> {
  const headers: Record<string, string> = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }
  const page = await server.app.inject({ method: 'GET', url: '/account', remoteAddress, headers })
  expect(page.statusCode).toBe(200)
  const response = await server.app.inject({
    method: 'POST',
    url: '/account/login',
    remoteAddress,
    headers: {
      ...headers,
      // A form of our own page, as a browser sends it.
      origin: server.url,
      cookie: page.cookies.map(({ name, value }) => `${name}=${value}`).join('; '),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({ csrf: hiddenInput(page.body, 'csrf'), username: `nobody-${++attempts}`, password: 'wrong password' }).toString(),
  })
  return response.statusCode
}

/** A server with `trustProxy` (left out when undefined) whose login-per-IP limit is `max` failures. */
function serverWith(trustProxy: number | string[] | undefined, max: number): Promise<TestServer> {
  return startServer({ ...(trustProxy === undefined ? {} : { trustProxy }), rateLimit: { loginPerIp: { max, window: 900 } } })
}

const FAILED = 401
const THROTTLED = 429

describe('SECURITY 28: without trustProxy, X-Forwarded-* is ignored', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await serverWith(undefined, 1)
  })
  afterAll(() => server?.close())

  it('the caller is the connection\'s peer, whatever X-Forwarded-For says', async () => {
    expect(await signIn(server, '198.51.100.7', '203.0.113.1')).toBe(FAILED)
    // Another X-Forwarded-For does not make the same peer another caller…
    expect(await signIn(server, '198.51.100.7', '203.0.113.2')).toBe(THROTTLED)
    expect(await signIn(server, '198.51.100.7', '203.0.113.3, 198.51.100.8')).toBe(THROTTLED)
    // …and naming the throttled address does not make another peer that caller.
    expect(await signIn(server, '198.51.100.8', '198.51.100.7')).toBe(FAILED)
  })
})

describe('SECURITY 28: trustProxy: 1 (one proxy in front)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await serverWith(1, 1)
  })
  afterAll(() => server?.close())

  it('X-Forwarded-For: 1.1.1.1, 2.2.2.2 from the proxy is the caller 2.2.2.2 (the entry the proxy wrote)', async () => {
    expect(await signIn(server, '127.0.0.1', '1.1.1.1, 2.2.2.2')).toBe(FAILED)
    expect(await signIn(server, '127.0.0.1', '2.2.2.2')).toBe(THROTTLED)
    expect(await signIn(server, '127.0.0.1', '9.9.9.9, 2.2.2.2')).toBe(THROTTLED)
    // Neither the left-most entry nor the proxy was counted.
    expect(await signIn(server, '127.0.0.1', '2.2.2.3, 1.1.1.1')).toBe(FAILED)
    expect(await signIn(server, '127.0.0.2', '127.0.0.1')).toBe(FAILED)
  })
})

describe('SECURITY 28: a spoofed left-most X-Forwarded-For entry never reaches a throttle key', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await serverWith(1, 3)
  })
  afterAll(() => server?.close())

  it('failures through a 1-hop proxy, each with another spoofed left-most entry, count against the one real client: 429 after loginPerIp.max', async () => {
    const client = '203.0.113.50'
    for (let i = 1; i <= 3; i++) expect(await signIn(server, '127.0.0.1', `198.18.0.${i}, ${client}`)).toBe(FAILED)
    expect(await signIn(server, '127.0.0.1', `198.18.0.4, ${client}`)).toBe(THROTTLED)
    expect(await signIn(server, '127.0.0.1', `198.18.0.5, 198.18.0.6, ${client}`)).toBe(THROTTLED)
    expect(await signIn(server, '127.0.0.1', client)).toBe(THROTTLED)
    // Another client behind the same proxy signs in as before.
    expect(await signIn(server, '127.0.0.1', `${client}, 203.0.113.51`)).toBe(FAILED)
  })
})

describe('SECURITY 28: trustProxy: a list of proxy addresses and CIDR ranges', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await serverWith(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'], 1)
  })
  afterAll(() => server?.close())

  it('X-Forwarded-For: spoofed, 203.0.113.9, 10.1.2.3 from 127.0.0.1 is the caller 203.0.113.9 (the right-most untrusted entry)', async () => {
    expect(await signIn(server, '127.0.0.1', 'spoofed, 203.0.113.9, 10.1.2.3')).toBe(FAILED)
    expect(await signIn(server, '10.0.0.7', '203.0.113.9')).toBe(THROTTLED)
    // Neither the spoofed entry nor the inner proxy was counted.
    expect(await signIn(server, '127.0.0.1', 'spoofed')).toBe(FAILED)
    expect(await signIn(server, '10.1.2.3')).toBe(FAILED)
  })

  it('IPv6: X-Forwarded-For: 2001:db8::1, 2001:db8::7, fd00::5 from ::1 is the caller 2001:db8::7', async () => {
    expect(await signIn(server, '::1', '2001:db8::1, 2001:db8::7, fd00::5')).toBe(FAILED)
    expect(await signIn(server, '2001:db8::7')).toBe(THROTTLED)
    expect(await signIn(server, '2001:db8::1')).toBe(FAILED)
  })

  it('a peer that is not a listed proxy is the caller itself: its X-Forwarded-For is ignored', async () => {
    expect(await signIn(server, '198.51.100.20', '10.0.0.1, 203.0.113.77')).toBe(FAILED)
    expect(await signIn(server, '198.51.100.20')).toBe(THROTTLED)
    expect(await signIn(server, '127.0.0.1', '203.0.113.77')).toBe(FAILED)
  })
})
