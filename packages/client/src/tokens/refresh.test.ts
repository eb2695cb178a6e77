/**
 * Refresh ahead of expiry, single-flight in a process and across processes sharing a SQLite or Redis store,
 * rotation, and the end of a session on invalid_grant (SECURITY.md 22, CL-16).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FakeAuthorizationServer, API, gate } from '../../test/fake-as.js'
import { clientFor, login } from '../../test/helpers.js'
import { hasRedisServer, startRedis, stopAllRedis } from '../../test/redis-server.js'
import { SessionError } from '../errors.js'
import { sessionKey } from '../internal/context.js'
import { RedisTokenStore } from '../storage/redis.js'
import { SqliteTokenStore } from '../storage/sqlite.js'
import type { TokenStore } from './store.js'

let fake: FakeAuthorizationServer

beforeEach(() => {
  fake = new FakeAuthorizationServer()
})

describe('getAccessToken', () => {
  it('returns the current token while it is not about to expire', async () => {
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    fake.now += 200
    expect(await client.getAccessToken(sessionId)).toBe(tokens.accessToken)
    expect(fake.refreshRequests()).toHaveLength(0)
  })

  it('refreshes within the leeway and stores the rotated refresh token (CL-16)', async () => {
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    fake.now += 241
    const fresh = await client.getAccessToken(sessionId)
    expect(fresh).not.toBe(tokens.accessToken)
    const [request] = fake.refreshRequests()
    expect(request?.form.get('refresh_token')).toBe(tokens.refreshToken)
    expect((await client.getSession(sessionId)).expiresAt).toBe(fake.now + 300)
    // The next refresh uses the new refresh token (the old one is dead at the server).
    fake.now += 241
    await client.getAccessToken(sessionId)
    expect(fake.refreshRequests()[1]?.form.get('refresh_token')).not.toBe(tokens.refreshToken)
  })

  it('keeps the refresh token when the server does not rotate it', async () => {
    fake.rotateRefreshTokens = false
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    fake.now += 241
    await client.getAccessToken(sessionId)
    fake.now += 241
    await client.getAccessToken(sessionId)
    expect(fake.refreshRequests().map((r) => r.form.get('refresh_token'))).toEqual([tokens.refreshToken, tokens.refreshToken])
  })

  it('concurrent callers in one process cause exactly one refresh', async () => {
    const client = clientFor(fake)
    const { sessionId } = await login(fake, client)
    fake.now += 290
    const held = gate()
    fake.tokenGate = held.promise
    const calls = Array.from({ length: 10 }, () => client.getAccessToken(sessionId))
    held.open()
    const results = await Promise.all(calls)
    expect(new Set(results).size).toBe(1)
    expect(fake.refreshRequests()).toHaveLength(1)
  })

  it('refresh() refreshes a token that is not due; concurrent calls make one refresh request', async () => {
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    const held = gate()
    fake.tokenGate = held.promise
    const calls = Array.from({ length: 5 }, () => client.refresh(sessionId))
    held.open()
    const infos = await Promise.all(calls)
    expect(fake.refreshRequests()).toHaveLength(1)
    expect(infos.every((info) => info.expiresAt === fake.now + 300)).toBe(true)
    expect(await client.getAccessToken(sessionId)).not.toBe(tokens.accessToken)
    await client.refresh(sessionId)
    expect(fake.refreshRequests()).toHaveLength(2)
  })

  it('invalid_grant ends the session: store entry deleted, typed error', async () => {
    const client = clientFor(fake)
    const { sessionId } = await login(fake, client)
    fake.refreshTokens.clear()
    fake.now += 301
    const error = await client.getAccessToken(sessionId).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionError)
    expect(error).toMatchObject({ code: 'SESSION_ENDED', cause: { code: 'INVALID_GRANT' } })
    await expect(client.getAccessToken(sessionId)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' })
  })

  it('a passing failure ahead of expiry keeps the still-valid token; after expiry it is thrown', async () => {
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    fake.tokenOverride = () => Response.json({ error: 'temporarily_unavailable' }, { status: 503 })
    fake.now += 250
    expect(await client.getAccessToken(sessionId)).toBe(tokens.accessToken)
    fake.now += 100
    // oauth4webapi reads OAuth error bodies on 400/401 only; a 503 is a non-conforming response.
    await expect(client.getAccessToken(sessionId)).rejects.toMatchObject({ code: 'INVALID_RESPONSE' })
    fake.tokenOverride = undefined
    expect(await client.getAccessToken(sessionId)).not.toBe(tokens.accessToken)
  })

  it('an unknown session is SESSION_NOT_FOUND', async () => {
    await expect(clientFor(fake).getAccessToken('nope')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' })
  })

  it('a refreshed ID token for another subject ends the session (CL-15)', async () => {
    const client = clientFor(fake)
    const { sessionId } = await login(fake, client)
    fake.tokenOverride = (form) => {
      if (form.get('grant_type') !== 'refresh_token') return undefined
      return Response.json({ access_token: 'x', token_type: 'bearer', expires_in: 300, id_token: fake.idToken(undefined, { claims: { sub: 'someone-else' } }) })
    }
    fake.now += 300
    await expect(client.getAccessToken(sessionId)).rejects.toMatchObject({ code: 'SESSION_ENDED', cause: { code: 'INVALID_ID_TOKEN' } })
  })
})

/** Two "processes" (two clients, two connections) over one shared store, of each kind that can be shared. */
const SHARED: { name: string; open: () => Promise<{ store: () => Promise<TokenStore>; close: () => Promise<void> }> }[] = [
  {
    name: 'SQLite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'authcode-client-'))
      const stores: SqliteTokenStore[] = []
      return {
        store: async () => {
          const store = await SqliteTokenStore.open(join(dir, 'sessions.db'))
          stores.push(store)
          return store
        },
        close: async () => {
          for (const store of stores) store.close()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  },
  {
    name: 'Redis',
    open: async () => {
      const server = await startRedis()
      const connections: Redis[] = []
      return {
        store: async () => {
          const redis = new Redis(server.url)
          connections.push(redis)
          return new RedisTokenStore(redis)
        },
        close: async () => {
          for (const redis of connections) redis.disconnect()
          await server.stop()
        },
      }
    },
  },
]

afterAll(() => stopAllRedis())

for (const shared of SHARED) {
  const describeShared = shared.name === 'Redis' && !hasRedisServer ? describe.skip : describe
  describeShared(`across processes sharing a ${shared.name} store (SECURITY 22)`, () => {
    let opened: Awaited<ReturnType<(typeof shared)['open']>>

    beforeEach(async () => {
      opened = await shared.open()
    })
    afterEach(async () => {
      await opened.close()
    })

    it('two store connections cause exactly one refresh', async () => {
      const storeA = await opened.store()
      const storeB = await opened.store()
      const a = clientFor(fake, { tokenStore: storeA })
      const b = clientFor(fake, { tokenStore: storeB })
      const { sessionId, tokens } = await login(fake, a)
      expect(await b.getAccessToken(sessionId)).toBe(tokens.accessToken)

      fake.now += 290
      const held = gate()
      fake.tokenGate = held.promise
      const first = a.getAccessToken(sessionId)
      // Let A take the lease and send its refresh, then start B: it must wait, not refresh.
      while (fake.refreshRequests().length === 0) await new Promise((r) => setTimeout(r, 1))
      const second = b.getAccessToken(sessionId)
      await new Promise((r) => setTimeout(r, 20))
      held.open()
      const [fromA, fromB] = await Promise.all([first, second])
      expect(fromA).toBe(fromB)
      expect(fromA).not.toBe(tokens.accessToken)
      expect(fake.refreshRequests()).toHaveLength(1)
    })

    it('a lease left by a crashed process expires', async () => {
      const store = await opened.store()
      const client = clientFor(fake, { tokenStore: store })
      const { sessionId } = await login(fake, client)
      fake.now += 295
      expect(await store.acquireRefreshLock(sessionKey(sessionId), 'crashed', fake.now + 30, fake.now)).toBe(true)
      const waiting = clientFor(fake, { tokenStore: store, refreshLockWaitMs: 20 })
      await expect(waiting.getAccessToken(sessionId)).rejects.toMatchObject({ code: 'REFRESH_LOCK_TIMEOUT' })
      fake.now += 31
      expect(await waiting.getAccessToken(sessionId)).toBeTypeOf('string')
      expect(fake.refreshRequests()).toHaveLength(1)
    })
  })
}

describe('fetch helper', () => {
  it('sends the token as Bearer only, and retries once after 401 invalid_token by refreshing', async () => {
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    let response = await client.fetch(sessionId, API)
    expect(response.status).toBe(200)
    const [call] = fake.requestsTo('/orders')
    expect(call?.headers.get('authorization')).toBe(`Bearer ${tokens.accessToken}`)
    expect(call?.url.search).toBe('')

    fake.accessTokens.clear() // the resource server forgets every token
    const held = gate()
    fake.tokenGate = held.promise
    const both = Promise.all([client.fetch(sessionId, API), client.fetch(sessionId, API)])
    held.open()
    const results = await both
    expect(results.map((r) => r.status)).toEqual([200, 200])
    expect(fake.refreshRequests()).toHaveLength(1)

    fake.accessTokens.clear()
    fake.tokenOverride = (form) => (form.get('grant_type') === 'refresh_token' ? Response.json({ access_token: 'still-bad', token_type: 'bearer', expires_in: 300 }) : undefined)
    response = await client.fetch(sessionId, API)
    expect(response.status).toBe(401)
    expect(fake.refreshRequests()).toHaveLength(2)
  })

  it('refuses a plain-http resource outside localhost', async () => {
    const client = clientFor(fake)
    const { sessionId } = await login(fake, client)
    await expect(client.fetch(sessionId, 'http://api.test/orders')).rejects.toBeInstanceOf(TypeError)
  })
})

describe('logout', () => {
  it('revokes the refresh token (RFC 7009) and deletes the session', async () => {
    const client = clientFor(fake)
    const { sessionId, tokens } = await login(fake, client)
    const result = await client.logout(sessionId)
    expect(result).toMatchObject({ revoked: true, revocationError: undefined, endSessionUrl: undefined })
    const [request] = fake.requestsTo('/revoke')
    expect(request?.form.get('token')).toBe(tokens.refreshToken)
    expect(request?.form.get('token_type_hint')).toBe('refresh_token')
    expect(fake.refreshTokens.has(tokens.refreshToken ?? '')).toBe(false)
    await expect(client.getAccessToken(sessionId)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' })
    expect(await client.logout(sessionId)).toMatchObject({ revoked: false })
  })

  it('points at RP-initiated logout when the server offers it', async () => {
    fake.metadata = { end_session_endpoint: 'https://as.test/logout' }
    const client = clientFor(fake, { postLogoutRedirectUri: 'https://rp.test/' })
    const { sessionId, tokens } = await login(fake, client)
    const { endSessionUrl } = await client.logout(sessionId)
    expect(endSessionUrl?.searchParams.get('id_token_hint')).toBe(tokens.idToken)
    expect(endSessionUrl?.searchParams.get('post_logout_redirect_uri')).toBe('https://rp.test/')
  })
})
