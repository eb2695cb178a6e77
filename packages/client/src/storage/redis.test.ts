/**
 * The store contracts against the Redis stores, on a Redis server of the test's own (a free port;
 * the machine's Redis is never touched); the peer is a second connection. Then what only Redis
 * does: keys that expire by themselves, and a Redis that goes down and comes back.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { hasRedisServer, NO_REDIS, startRedis, stopAllRedis, type RedisServer } from '../../test/redis-server.js'
import { StoreError } from '../errors.js'
import { RedisLoginStateStore, RedisTokenStore } from './redis.js'
import { attempt, loginStateStoreSuite, NOW, session, tokenStoreSuite } from './store.suite.js'

const server: RedisServer | undefined = hasRedisServer ? await startRedis() : undefined
afterAll(() => stopAllRedis())

/** A connection that gives up quickly while the server is away (the tests stop it). */
function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  redis.on('error', () => undefined) // refused connections while a test has the server stopped
  return redis
}

if (server === undefined) {
  describe('Redis stores', () => it.skip(NO_REDIS, () => {}))
} else {
  const url = server.url
  loginStateStoreSuite('RedisLoginStateStore', async (limits) => {
    const keyPrefix = `t${randomBytes(6).toString('hex')}:`
    const connections = [connect(url)]
    return {
      store: new RedisLoginStateStore(connections[0] as Redis, { keyPrefix, ...limits }),
      peer: async () => {
        const other = connect(url)
        connections.push(other)
        return new RedisLoginStateStore(other, { keyPrefix, ...limits })
      },
      close: async () => {
        for (const connection of connections) connection.disconnect()
      },
    }
  })

  tokenStoreSuite('RedisTokenStore', async () => {
    const keyPrefix = `t${randomBytes(6).toString('hex')}:`
    const connections = [connect(url)]
    return {
      store: new RedisTokenStore(connections[0] as Redis, { keyPrefix }),
      peer: async () => {
        const other = connect(url)
        connections.push(other)
        return new RedisTokenStore(other, { keyPrefix })
      },
      close: async () => {
        for (const connection of connections) connection.disconnect()
      },
    }
  })

  describe('Redis stores', () => {
    it('TTL: a session and a login attempt expire in Redis itself, after their own span', async () => {
      const redis = connect(url)
      const keyPrefix = `t${randomBytes(6).toString('hex')}:`
      const tokens = new RedisTokenStore(redis, { keyPrefix })
      const logins = new RedisLoginStateStore(redis, { keyPrefix })
      await tokens.set('k', session({ updatedAt: NOW, expiresAt: NOW + 3600 }))
      await tokens.set('forever', session({ expiresAt: undefined }))
      await logins.save('l', attempt('192.0.2.1', { createdAt: NOW, expiresAt: NOW + 600 }))
      const sessionTtl = await redis.pttl(`${keyPrefix}session:k`)
      expect(sessionTtl).toBeGreaterThan(3_590_000)
      expect(sessionTtl).toBeLessThanOrEqual(3_600_000)
      expect(await redis.pttl(`${keyPrefix}session:forever`)).toBe(-1)
      const loginTtl = await redis.pttl(`${keyPrefix}{logins}:entry:l`)
      expect(loginTtl).toBeGreaterThan(590_000)
      expect(loginTtl).toBeLessThanOrEqual(600_000)
      // A span of one second really ends.
      await tokens.set('short', session({ updatedAt: NOW, expiresAt: NOW + 1 }))
      await new Promise((resolve) => setTimeout(resolve, 1100))
      expect(await redis.exists(`${keyPrefix}session:short`)).toBe(0)
      redis.disconnect()
    })

    it('a Redis that is down fails each call fast with STORE_UNAVAILABLE (no secret in it), and works again once it is back', async () => {
      const own = await startRedis()
      const redis = connect(own.url)
      const tokens = new RedisTokenStore(redis, { timeoutMs: 500 })
      const logins = new RedisLoginStateStore(redis, { timeoutMs: 500 })
      await tokens.set('k', session())
      await own.stop()
      await new Promise((resolve) => setTimeout(resolve, 100))
      const started = Date.now()
      const failures = await Promise.all([
        tokens.get('k', NOW).catch((e: unknown) => e),
        tokens.set('k', session()).catch((e: unknown) => e),
        tokens.acquireRefreshLock('k', 'owner', NOW + 30, NOW).catch((e: unknown) => e),
        logins.save('secret-login', attempt(undefined)).catch((e: unknown) => e),
        logins.take('secret-login', NOW).catch((e: unknown) => e),
      ])
      expect(Date.now() - started).toBeLessThan(1500)
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(StoreError)
        expect(JSON.stringify({ message: (failure as Error).message, cause: (failure as Error).cause })).not.toMatch(/secret|at-1|rt-1/)
      }
      await own.start()
      const deadline = Date.now() + 5000
      while (redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      await logins.save('again', attempt(undefined))
      expect(await logins.take('again', NOW)).toBeDefined()
      redis.disconnect()
      await own.stop()
    })

    it('checks its options (TypeError)', () => {
      const redis = connect(url)
      expect(() => new RedisTokenStore({} as Redis)).toThrow(TypeError)
      expect(() => new RedisTokenStore(redis, { keyPrefix: 'a{b}' })).toThrow(TypeError)
      expect(() => new RedisTokenStore(redis, { timeoutMs: 0 })).toThrow(TypeError)
      expect(() => new RedisLoginStateStore(redis, { maxPerCaller: 0 })).toThrow(TypeError)
      redis.disconnect()
    })
  })
}
