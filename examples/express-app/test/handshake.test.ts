/**
 * The demo app's handshake log (src/handshake.ts): events are tied to the browser whose request
 * caused them (an opaque cookie and AsyncLocalStorage), one handshake per login, later steps join
 * the handshake of their session, and nothing is kept for a step outside a browser's request.
 */
import type { NextFunction, Request, Response } from 'express'
import { beforeEach, describe, expect, it } from 'vitest'
import { FakeAuthorizationServer } from '../../../packages/client/test/fake-as.js'
import { clientFor } from '../../../packages/client/test/helpers.js'
import { HANDSHAKE_COOKIE, HandshakeRecorder } from '../src/handshake.js'

let fake: FakeAuthorizationServer
let recorder: HandshakeRecorder

beforeEach(() => {
  fake = new FakeAuthorizationServer()
  recorder = new HandshakeRecorder({ secure: false })
})

interface Visit<T> {
  value: T
  setCookie: string[]
}

/** Runs `work` as the app would inside a request of the browser holding `cookie`. */
function visit<T>(cookie: string | undefined, route: string, work: () => T | Promise<T>): Promise<Visit<T>> {
  const [method = 'GET', path = '/'] = route.split(' ')
  const setCookie: string[] = []
  const req = { headers: cookie === undefined ? {} : { cookie }, method, path } as unknown as Request
  const res = { append: (_name: string, value: string) => setCookie.push(value) } as unknown as Response
  return new Promise((resolve, reject) => {
    const next: NextFunction = () => {
      Promise.resolve()
        .then(work)
        .then((value) => resolve({ value, setCookie }), reject)
    }
    void recorder.middleware(req, res, next)
  })
}

/** The handshake page as the browser holding `cookie` would get it. */
async function page(cookie: string): Promise<string> {
  let body = ''
  const res = { setHeader: () => undefined, send: (html: string) => (body = html) } as unknown as Response
  await visit(cookie, 'GET /handshake', () => recorder.page({ auth: undefined } as unknown as Request, res, () => undefined))
  return body
}

function steps(html: string): string[] {
  return [...html.matchAll(/<li(?: class="failed")?>([^<]*)<\/li>/g)].map((m) => m[1] ?? '')
}

describe('the handshake log', () => {
  it('names a new browser with an opaque HttpOnly cookie, and keeps a valid one', async () => {
    const first = await visit(undefined, 'GET /', () => undefined)
    expect(first.setCookie).toHaveLength(1)
    expect(first.setCookie[0]).toMatch(new RegExp(`^${HANDSHAKE_COOKIE}=[\\w-]{43}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400$`))
    const cookie = (first.setCookie[0] ?? '').split(';')[0] ?? ''
    expect((await visit(cookie, 'GET /', () => undefined)).setCookie).toEqual([])
    expect((await visit(`${HANDSHAKE_COOKIE}=not-ours`, 'GET /', () => undefined)).setCookie).toHaveLength(1)
    expect(new HandshakeRecorder({ secure: true })).toBeDefined()
  })

  it('keeps each browser its own handshake, and a second login a new one; the previous session\'s revocation joins its own', async () => {
    const client = clientFor(fake, { onEvent: recorder.onEvent })
    const alice = `${HANDSHAKE_COOKIE}=${'a'.repeat(43)}`
    const bob = `${HANDSHAKE_COOKIE}=${'b'.repeat(43)}`

    const login = async (cookie: string): Promise<string> => {
      const { value: attempt } = await visit(cookie, 'GET /login', () => client.buildAuthorizationUrl())
      const callback = fake.authorize(attempt.url)
      const { value } = await visit(cookie, 'GET /callback', () => client.handleCallback({ loginId: attempt.loginId, url: callback }))
      return value.sessionId
    }
    const first = await login(alice)
    await visit(alice, 'POST /api', () => client.userinfo(first))
    expect(steps(await page(bob))).toEqual([])
    expect(await page(bob)).toContain('No handshake recorded in this browser yet.')
    const one = steps(await page(alice))
    expect(one).toHaveLength(12)
    expect(one.at(-2)).toContain('GET /userinfo. Authorization: Bearer')
    expect(one.at(-2)).toContain('for POST /api (UserInfo)')

    // A second login in the same browser: the app logs the first session out during the callback.
    const { value: attempt } = await visit(alice, 'GET /login', () => client.buildAuthorizationUrl())
    const callback = fake.authorize(attempt.url)
    await visit(alice, 'GET /callback', async () => {
      await client.handleCallback({ loginId: attempt.loginId, url: callback })
      await client.logout(first)
    })
    const two = steps(await page(alice))
    expect(two).toHaveLength(10)
    expect(two.join('\n')).not.toContain('POST /revoke')
    // Nothing is kept for a step outside a browser's request.
    await client.buildAuthorizationUrl()
    expect(steps(await page(alice))).toEqual(two)
  })
})
