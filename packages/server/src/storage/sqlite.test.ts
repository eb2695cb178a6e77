import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import SQLite from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { isStoreUnavailable } from './errors.js'
import { migrateDown, migrateToLatest } from './migrate.js'
import { openStore, parseDatabaseUrl } from './open.js'
import { openSqliteConnection, openSqliteDatabase, openSqliteStore } from './sqlite.js'
import { SqliteStore } from './sqlite-store.js'
import { SqlStore, openMigratedStore } from './sql-store.js'
import { DuplicateError, LOGOUT_QUEUE_LIMIT } from '../protocol/store.js'
import { compileTemplate } from './queries.js'
import { NOW, client, code, grant, storeSuite, tokens, user } from './store.suite.js'

const TABLES = [
  'access_tokens',
  'admin_tokens',
  'authorization_codes',
  'clients',
  'consents',
  'grants',
  'interactions',
  'login_sessions',
  'logout_deliveries',
  'passkeys',
  'pushed_requests',
  'rate_limits',
  'refresh_tokens',
  'registration_tokens',
  'signing_keys',
  'used_jtis',
  'users',
]

const MIGRATIONS = ['0001_init', '0002_sessions_and_attempts', '0003_admin', '0004_standards', '0005_logout', '0006_web_origins', '0007_registration', '0008_resources', '0009_passkeys']
/** The migrations after `name`, in the order they run; how many steps down lead back to it. */
const after = (name: string): string[] => MIGRATIONS.slice(MIGRATIONS.indexOf(name) + 1)
const stepsBackTo = (name: string): number => after(name).length

let dir: string
let files = 0
/** A path for a database file that does not exist yet, in a directory that does not either. */
const freshPath = () => join(dir, `db-${++files}`, 'authcode.db')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authcode-sqlite-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

storeSuite('sqlite', () => openSqliteStore(freshPath()))

// Plain SqlStore over the same kind of file: the methods SqliteStore overrides with prepared
// statements (the reads on the login path, createGrantWithCode, redeemCode, rotateRefreshToken) run
// here as kysely queries, so every method of SqlStore is tested on every machine, not only where
// AUTHCODE_TEST_PG is set.
storeSuite('sql over sqlite', async () => {
  const { db } = await openSqliteConnection(freshPath())
  return (await openMigratedStore(db, (migrated) => new SqlStore(migrated))).store
})

describe('sqlite migrations', () => {
  it('migrates an empty database to the latest schema, back to empty, and up again', async () => {
    const db = await openSqliteDatabase(freshPath())
    const tables = async () => (await db.introspection.getTables()).map((table) => table.name).toSorted()
    try {
      expect(await tables()).toEqual([])
      expect(await migrateToLatest(db)).toEqual({ applied: MIGRATIONS })
      expect(await tables()).toEqual(TABLES)
      expect(await migrateToLatest(db)).toEqual({ applied: [] })
      expect(await migrateDown(db, MIGRATIONS.length)).toEqual({ reverted: MIGRATIONS.toReversed() })
      expect(await tables()).toEqual([])
      expect(await migrateDown(db, 1)).toEqual({ reverted: [] })
      expect(await migrateToLatest(db)).toEqual({ applied: MIGRATIONS })
      expect(await tables()).toEqual(TABLES)
    } finally {
      await db.destroy()
    }
  })

  it('0002 keeps the rows of 0001: old sessions have no browser, old throttle windows no wait', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await migrateToLatest(db)
      await migrateDown(db, stepsBackTo('0001_init'))
      await sql`insert into users (id, username, password_hash, email_verified, created_at, updated_at) values ('u1', 'alice', 'h', 0, 1, 1)`.execute(db)
      await sql`insert into login_sessions (id_hash, user_id, auth_time, created_at, expires_at) values ('s1', 'u1', 1, 1, 99)`.execute(db)
      await sql`insert into rate_limits (key, count, reset_at) values ('k', 3, 99)`.execute(db)
      expect(await migrateToLatest(db)).toEqual({ applied: after('0001_init') })
      expect((await sql<{ browser_hash: string | null }>`select browser_hash from login_sessions`.execute(db)).rows).toEqual([{ browser_hash: null }])
      expect((await sql<{ count: number; next_at: number }>`select count, next_at from rate_limits`.execute(db)).rows).toEqual([{ count: 3, next_at: 0 }])
      expect(await migrateDown(db, stepsBackTo('0001_init'))).toEqual({ reverted: after('0001_init').reverse() })
      expect((await sql<{ n: number }>`select count(*) as n from login_sessions`.execute(db)).rows).toEqual([{ n: 1 }])
    } finally {
      await db.destroy()
    }
  })

  it('0003 keeps the rows of 0002: users enabled, clients with no post-logout URI and no previous secret, keys not retired', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await migrateToLatest(db)
      await migrateDown(db, stepsBackTo('0002_sessions_and_attempts'))
      await sql`insert into users (id, username, password_hash, email_verified, created_at, updated_at) values ('u1', 'alice', 'h', 0, 1, 1)`.execute(db)
      await sql`insert into clients (client_id, name, secret_hash, redirect_uris, scopes, grant_types, id_token_signed_response_alg, pkce_optional, first_party, created_at)
        values ('c1', 'App', 'x', '["https://a.test/cb"]', '["openid"]', '["authorization_code"]', 'RS256', 0, 0, 1)`.execute(db)
      await sql`insert into signing_keys (kid, alg, public_jwk, private_key_encrypted, created_at, activates_at) values ('k1', 'ES256', '{}', 'e', 1, 1)`.execute(db)
      expect(await migrateToLatest(db)).toEqual({ applied: after('0002_sessions_and_attempts') })
      const store = new SqlStore(db)
      expect((await store.getUserById('u1'))?.disabledAt).toBeNull()
      expect(await store.getClient('c1')).toMatchObject({ postLogoutRedirectUris: [], previousSecretHash: null, previousSecretExpiresAt: null })
      expect((await store.listSigningKeys())[0]?.retiredAt).toBeNull()
      expect(await migrateDown(db, stepsBackTo('0002_sessions_and_attempts'))).toEqual({ reverted: after('0002_sessions_and_attempts').reverse() })
      expect((await sql<{ n: number }>`select count(*) as n from clients`.execute(db)).rows).toEqual([{ n: 1 }])
    } finally {
      await db.destroy()
    }
  })

  it('0004 keeps the rows of 0003: clients authenticate as before (by secret, or none when public), codes and refresh tokens unbound', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await migrateToLatest(db)
      await migrateDown(db, stepsBackTo('0003_admin'))
      await sql`insert into clients (client_id, name, secret_hash, redirect_uris, scopes, grant_types, id_token_signed_response_alg, pkce_optional, first_party, created_at)
        values ('secret', 'App', 'x', '["https://a.test/cb"]', '["openid"]', '["authorization_code"]', 'RS256', 0, 0, 1),
               ('public', 'SPA', null, '["https://b.test/cb"]', '["openid"]', '["authorization_code"]', 'RS256', 0, 0, 1)`.execute(db)
      expect(await migrateToLatest(db)).toEqual({ applied: after('0003_admin') })
      const store = new SqlStore(db)
      const unchanged = { jwks: null, jwksUri: null, requirePushedAuthorizationRequests: false, dpopBoundAccessTokens: false }
      expect(await store.getClient('secret')).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_basic', ...unchanged })
      expect(await store.getClient('public')).toMatchObject({ tokenEndpointAuthMethod: 'none', ...unchanged })
      expect(await migrateDown(db, stepsBackTo('0003_admin'))).toEqual({ reverted: after('0003_admin').reverse() })
      expect((await sql<{ n: number }>`select count(*) as n from clients`.execute(db)).rows).toEqual([{ n: 2 }])
    } finally {
      await db.destroy()
    }
  })

  it('0005 keeps the rows of 0004: sessions and grants without a sid, clients without a back-channel logout URI', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await migrateToLatest(db)
      await migrateDown(db, stepsBackTo('0004_standards'))
      await sql`insert into users (id, username, password_hash, email_verified, created_at, updated_at) values ('u1', 'alice', 'h', 0, 1, 1)`.execute(db)
      await sql`insert into clients (client_id, name, secret_hash, redirect_uris, scopes, grant_types, id_token_signed_response_alg, pkce_optional, first_party, created_at)
        values ('c1', 'App', 'x', '["https://a.test/cb"]', '["openid"]', '["authorization_code"]', 'RS256', 0, 0, 1)`.execute(db)
      await sql`insert into login_sessions (id_hash, user_id, auth_time, created_at, expires_at, browser_hash) values ('s1', 'u1', 1, 1, 99, 'b1')`.execute(db)
      await sql`insert into grants (id, client_id, user_id, scopes, auth_time, created_at) values ('g1', 'c1', 'u1', '["openid"]', 1, 1)`.execute(db)
      expect(await migrateToLatest(db)).toEqual({ applied: after('0004_standards') })
      const store = new SqlStore(db)
      expect(await store.getClient('c1')).toMatchObject({ backchannelLogoutUri: null })
      const session = await store.getLoginSession('s1', 2)
      expect(session).toBeDefined()
      expect(session).not.toHaveProperty('sid')
      expect(await store.getGrant('g1')).not.toHaveProperty('sid')
      // A session without a sid queues nothing when it ends.
      expect(await store.signOutBrowser('b1', undefined, 2)).toEqual({ sessions: [{ userId: 'u1' }], logoutsQueued: 0, logoutsDropped: 0 })
      expect(await migrateDown(db, stepsBackTo('0004_standards'))).toEqual({ reverted: after('0004_standards').reverse() })
      expect((await sql<{ n: number }>`select count(*) as n from grants`.execute(db)).rows).toEqual([{ n: 1 }])
    } finally {
      await db.destroy()
    }
  })

  it('0006 keeps the rows of 0005: clients without web origins', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await migrateToLatest(db)
      await migrateDown(db, stepsBackTo('0005_logout'))
      await sql`insert into clients (client_id, name, secret_hash, redirect_uris, scopes, grant_types, id_token_signed_response_alg, pkce_optional, first_party, created_at, token_endpoint_auth_method)
        values ('c1', 'SPA', null, '["https://spa.test/cb"]', '["openid"]', '["authorization_code"]', 'RS256', 0, 0, 1, 'none')`.execute(db)
      expect(await migrateToLatest(db)).toEqual({ applied: after('0005_logout') })
      const store = new SqlStore(db)
      expect(await store.getClient('c1')).toMatchObject({ redirectUris: ['https://spa.test/cb'], webOrigins: [] })
      expect(await store.updateClient('c1', { webOrigins: ['https://spa.test:8443'] })).toMatchObject({ webOrigins: ['https://spa.test:8443'] })
      expect(await migrateDown(db, stepsBackTo('0005_logout'))).toEqual({ reverted: after('0005_logout').reverse() })
      expect((await sql<{ n: number }>`select count(*) as n from clients`.execute(db)).rows).toEqual([{ n: 1 }])
    } finally {
      await db.destroy()
    }
  })

  it('0007 keeps the rows of 0006: clients the operator registered, no registration access token', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await migrateToLatest(db)
      await migrateDown(db, stepsBackTo('0006_web_origins'))
      await sql`insert into clients (client_id, name, secret_hash, redirect_uris, scopes, grant_types, id_token_signed_response_alg, pkce_optional, first_party, created_at, token_endpoint_auth_method)
        values ('c1', 'Shop', 'h', '["https://shop.test/cb"]', '["openid"]', '["authorization_code"]', 'RS256', 0, 0, 1, 'client_secret_basic')`.execute(db)
      expect(await migrateToLatest(db)).toEqual({ applied: after('0006_web_origins') })
      const store = new SqlStore(db)
      expect(await store.getClient('c1')).toMatchObject({ name: 'Shop', registeredDynamically: false, registrationAccessTokenHash: null })
      expect(await store.listRegistrationTokens()).toEqual([])
      expect(await migrateDown(db, stepsBackTo('0006_web_origins'))).toEqual({ reverted: after('0006_web_origins').reverse() })
      expect((await sql<{ n: number }>`select count(*) as n from clients`.execute(db)).rows).toEqual([{ n: 1 }])
    } finally {
      await db.destroy()
    }
  })

  it('the back-channel logout queue is bounded: past LOGOUT_QUEUE_LIMIT a sign-out queues nothing and counts what it dropped', async () => {
    const { db } = await openSqliteConnection(freshPath())
    const { store } = await openMigratedStore(db, (migrated) => new SqlStore(migrated))
    try {
      await store.createUser(user('u1', 'alice'))
      await store.createClient(client('c1', { backchannelLogoutUri: 'https://app.example/bcl' }))
      const waiting = Array.from({ length: LOGOUT_QUEUE_LIMIT }, (_, i) => ({ sid: `old-${i}`, client_id: 'c1', user_id: 'u1', created_at: NOW, attempts: 0, next_attempt_at: NOW }))
      for (let i = 0; i < waiting.length; i += 1000) await db.insertInto('logout_deliveries').values(waiting.slice(i, i + 1000)).execute()
      await store.createLoginSession({ idHash: 's1', userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: NOW + 60, browserHash: 'b1', sid: 'sid-1' })
      await store.createGrantWithCode(grant('g1', { sid: 'sid-1' }), code('code-g1', 'g1'))
      expect(await store.signOutBrowser('b1', undefined, NOW)).toEqual({ sessions: [{ userId: 'u1', sid: 'sid-1' }], logoutsQueued: 0, logoutsDropped: 1 })
      // Once there is room again, the next sign-out queues.
      await store.deleteLogoutDelivery('old-0', 'c1')
      await store.createLoginSession({ idHash: 's2', userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: NOW + 60, browserHash: 'b2', sid: 'sid-2' })
      await store.createGrantWithCode(grant('g2', { sid: 'sid-2' }), code('code-g2', 'g2'))
      expect(await store.signOutBrowser('b2', undefined, NOW)).toMatchObject({ logoutsQueued: 1, logoutsDropped: 0 })
    } finally {
      await store.close()
    }
  })

  it('migrateDown rejects a step count that is not a positive integer', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      await expect(migrateDown(db, 0)).rejects.toBeInstanceOf(TypeError)
    } finally {
      await db.destroy()
    }
  })

  it('reopening an existing file keeps its data and applies nothing', async () => {
    const path = freshPath()
    const first = await openStore(`sqlite:${path}`)
    expect(first.migrated).toEqual(MIGRATIONS)
    await first.store.createClient({
      clientId: 'c1',
      name: 'Demo',
      secretHash: null,
      redirectUris: ['http://localhost:3000/callback'],
      scopes: ['openid'],
      grantTypes: ['authorization_code'],
      idTokenSignedResponseAlg: 'RS256',
      pkceOptional: false,
      firstParty: false,
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      tokenEndpointAuthMethod: 'none',
      jwks: null,
      jwksUri: null,
      requirePushedAuthorizationRequests: false,
      dpopBoundAccessTokens: false,
      webOrigins: [],
      registeredDynamically: false,
      registrationAccessTokenHash: null,
      createdAt: 1_700_000_000,
    })
    await first.store.close()

    const second = await openStore(path)
    try {
      expect(second.migrated).toEqual([])
      expect((await second.store.getClient('c1'))?.name).toBe('Demo')
    } finally {
      await second.store.close()
    }
  })

  it('refuses a file that is not a SQLite database', async () => {
    const path = freshPath()
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, 'not a database, just text that is long enough to fill a header block'.repeat(10))
    await expect(openSqliteStore(path)).rejects.toThrow(/not a database/)
  })
})

describe('sqlite: the token endpoint on prepared statements', () => {
  it('a redemption never runs inside a transaction kysely has open on the same connection', async () => {
    const { db, connection } = await openSqliteConnection(freshPath())
    await migrateToLatest(db)
    const store = new SqliteStore(db, connection)
    const microtasks = async (n: number) => {
      for (let i = 0; i < n; i++) await Promise.resolve()
    }
    try {
      await store.createClient(client('c1'))
      await store.createUser(user('u1', 'alice'))
      // Each round: a kysely transaction that inserts a grant and then fails, so it rolls back,
      // while a redemption starts a few microtasks later. Were the redemption to land inside that
      // transaction, its tokens would be rolled back with it after it reported success.
      for (let delay = 0; delay < 40; delay++) {
        await store.createGrantWithCode(grant(`g${delay}`), code(`h${delay}`, `g${delay}`))
        const failing = db.transaction().execute(async (trx) => {
          await trx.insertInto('grants').values({ id: `x${delay}`, client_id: 'c1', user_id: 'u1', scopes: 'openid', auth_time: NOW, created_at: NOW, revoked_at: null }).execute()
          await microtasks(5)
          throw new Error('roll back')
        })
        const redeeming = microtasks(delay).then(() => store.redeemCode(`h${delay}`, NOW, tokens(`at${delay}`, `g${delay}`, `rt${delay}`)))
        await expect(failing).rejects.toThrow('roll back')
        expect(await redeeming).toBe(true)
        expect(await store.getAccessToken(`at${delay}`)).toBeDefined()
        expect(await store.getRefreshToken(`rt${delay}`)).toBeDefined()
        expect((await store.getCode(`h${delay}`))?.consumedAt).toBe(NOW)
        expect(await store.getGrant(`x${delay}`)).toBeUndefined()
      }
    } finally {
      await store.close()
    }
  })

  it('writes committed together stay independent: one that fails changes nothing, the others all land', async () => {
    const store = await openSqliteStore(freshPath())
    try {
      await store.createClient(client('c1'))
      await store.createUser(user('u1', 'alice'))
      await store.createGrantWithCode(grant('g0'), code('h0', 'g0'))
      await store.redeemCode('h0', NOW, tokens('taken', 'g0', 'rt-taken'))
      for (let i = 1; i <= 6; i++) await store.createGrantWithCode(grant(`g${i}`), code(`h${i}`, `g${i}`))
      // Issued in one turn of the event loop, so they share one commit; the third reuses a jti.
      const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => store.redeemCode(`h${i}`, NOW, tokens(i === 3 ? 'taken' : `at${i}`, `g${i}`, `rt${i}`))))
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
      expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateError)
      // The failed one was undone entirely: its code is still unconsumed, its refresh token absent.
      expect((await store.getCode('h3'))?.consumedAt).toBeNull()
      expect(await store.getRefreshToken('rt3')).toBeUndefined()
      for (const i of [1, 2, 4, 5, 6]) {
        expect((await store.getCode(`h${i}`))?.consumedAt).toBe(NOW)
        expect(await store.getAccessToken(`at${i}`)).toBeDefined()
        expect(await store.getRefreshToken(`rt${i}`)).toBeDefined()
      }
      // And the same code redeemed twice in one group: exactly one wins.
      await store.createGrantWithCode(grant('g7'), code('h7', 'g7'))
      const twice = await Promise.all([store.redeemCode('h7', NOW, tokens('at7a', 'g7', 'rt7a')), store.redeemCode('h7', NOW, tokens('at7b', 'g7', 'rt7b'))])
      expect(twice.toSorted()).toEqual([false, true])
    } finally {
      await store.close()
    }
  })

  it('checkpoints the WAL into the database file from a worker thread, not on commit', async () => {
    const path = freshPath()
    const store = await openSqliteStore(path)
    try {
      const before = (await stat(path)).size
      // About 2 MB of commits: below the 1000-page (4 MB) automatic checkpoint SQLite would run
      // on the serving connection, so only the worker can have copied them into the file.
      for (let i = 0; i < 500; i++) await store.createClient(client(`c${i}`, { name: `client ${i} `.padEnd(4000, '.') }))
      const deadline = Date.now() + 5000
      while ((await stat(path)).size < before + 1_500_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect((await stat(path)).size).toBeGreaterThan(before + 1_500_000)
    } finally {
      await store.close()
    }
  })

  it('starts the WAL over while writes never pause, so it does not grow without bound', { timeout: 30_000 }, async () => {
    const path = freshPath()
    const store = await openSqliteStore(path)
    // The WAL header's checkpoint sequence number (bytes 12-15) goes up each time the WAL restarts.
    const restarts = async () => {
      const file = await open(`${path}-wal`)
      try {
        const { buffer } = await file.read(Buffer.alloc(16), 0, 16, 0)
        return buffer.readUInt32BE(12)
      } finally {
        await file.close()
      }
    }
    try {
      await store.createClient(client('c1'))
      await store.createUser(user('u1', 'alice'))
      const first = await restarts()
      // Twenty writers back to back, with 2 KB codes so that the WAL fills fast: a group commit in
      // every turn of the event loop, so a PASSIVE checkpoint never finds every frame copied, as
      // under the benchmark's load. They stop once the WAL has started over twice; without a
      // RESTART checkpoint it never does, and the 10 s deadline ends them.
      const deadline = Date.now() + 10_000
      let n = 0
      const writer = async () => {
        while (Date.now() < deadline && (await restarts()) - first < 2) {
          const i = n++
          await store.createGrantWithCode(grant(`g${i}`), code(`h${i}`, `g${i}`, { nonce: 'n'.repeat(2000) }))
        }
      }
      await Promise.all(Array.from({ length: 20 }, writer))
      expect((await restarts()) - first).toBeGreaterThanOrEqual(2)
    } finally {
      await store.close()
    }
  })

  it('waits for a writer lock held elsewhere without blocking the event loop', async () => {
    const path = freshPath()
    const store = await openSqliteStore(path)
    const other = new SQLite(path)
    try {
      await store.createClient(client('c1'))
      await store.createUser(user('u1', 'alice'))
      // Another process's transaction (a CLI command) holds the writer lock for 300 ms.
      other.prepare('BEGIN IMMEDIATE').run()
      setTimeout(() => other.prepare('COMMIT').run(), 300)
      let longestGap = 0
      let last = Date.now()
      const ticker = setInterval(() => {
        longestGap = Math.max(longestGap, Date.now() - last)
        last = Date.now()
      }, 5)
      const started = Date.now()
      await store.createGrantWithCode(grant('g1'), code('h1', 'g1'))
      clearInterval(ticker)
      expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      expect(await store.getGrant('g1')).toBeDefined()
      // busy_timeout would have held the event loop for the whole 300 ms.
      expect(longestGap).toBeLessThan(150)
    } finally {
      other.close()
      await store.close()
    }
  })

  it('fails a group commit with SQLITE_BUSY once the lock stays taken past the busy timeout', async () => {
    const path = freshPath()
    const { db, connection } = await openSqliteConnection(path)
    await migrateToLatest(db)
    const store = new SqliteStore(db, { ...connection, busyTimeoutMs: 200 })
    const other = new SQLite(path)
    try {
      await store.createClient(client('c1'))
      await store.createUser(user('u1', 'alice'))
      other.prepare('BEGIN IMMEDIATE').run()
      const failed = await store.createGrantWithCode(grant('g1'), code('h1', 'g1')).catch((error: unknown) => error)
      expect(isStoreUnavailable(failed)).toBe(true)
      other.prepare('ROLLBACK').run()
      expect(await store.getGrant('g1')).toBeUndefined()
      // The lock free again, the next write goes through.
      await store.createGrantWithCode(grant('g2'), code('h2', 'g2'))
      expect(await store.getGrant('g2')).toBeDefined()
    } finally {
      other.close()
      await store.close()
    }
  })

  it('refuses to compile a query template with a value frozen into it', async () => {
    const db = await openSqliteDatabase(freshPath())
    try {
      expect(compileTemplate(db, (q, id: string) => q.selectFrom('clients').selectAll().where('client_id', '=', id), 1).argumentOf).toEqual([0])
      expect(() => compileTemplate(db, (q, id: string) => q.selectFrom('clients').selectAll().where('client_id', '=', id).where('name', '=', 'fixed'), 1)).toThrow(
        /not one of its builder's arguments/,
      )
    } finally {
      await db.destroy()
    }
  })
})

describe('parseDatabaseUrl', () => {
  it('accepts sqlite:PATH and bare paths ending in .db, .sqlite or .sqlite3', () => {
    expect(parseDatabaseUrl('sqlite:./data/authcode.db')).toEqual({ dialect: 'sqlite', path: './data/authcode.db' })
    expect(parseDatabaseUrl('sqlite:/var/lib/authcode')).toEqual({ dialect: 'sqlite', path: '/var/lib/authcode' })
    for (const path of ['data/a.db', '/abs/a.sqlite', 'a.sqlite3']) {
      expect(parseDatabaseUrl(path)).toEqual({ dialect: 'sqlite', path })
    }
  })

  it('recognises PostgreSQL URLs; an unreachable server fails to open without the password in the error', async () => {
    for (const url of ['postgres://u:p@localhost/authcode', 'postgresql://localhost/authcode']) {
      expect(parseDatabaseUrl(url)).toEqual({ dialect: 'postgres', url })
    }
    const failure = await openStore('postgres://u:secretpw@127.0.0.1:1/authcode').then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    expect(failure).toBeInstanceOf(Error)
    expect(failure?.message).not.toContain('secretpw')
  })

  it('rejects anything else, naming the accepted forms and not echoing the value', () => {
    for (const db of ['mysql://root:hunter2@db/x', 'sqlite:', 'sqlite://x.db', 'file://x.db', 'data/authcode', '']) {
      expect(() => parseDatabaseUrl(db)).toThrow(/expected sqlite:PATH/)
      expect(() => parseDatabaseUrl(db)).not.toThrow(/hunter2/)
    }
  })
})
