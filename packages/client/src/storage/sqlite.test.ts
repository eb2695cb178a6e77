/** The store contracts against the SQLite stores; the peer is a second connection to the same file. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { StoreError } from '../errors.js'
import { SqliteLoginStateStore, SqliteTokenStore } from './sqlite.js'
import { attempt, loginStateStoreSuite, NOW, session, tokenStoreSuite } from './store.suite.js'

const dir = await mkdtemp(path.join(tmpdir(), 'authcode-client-sqlite-'))
afterAll(() => rm(dir, { recursive: true, force: true }))
let files = 0
const nextFile = (): string => path.join(dir, `${(files += 1)}.db`)

loginStateStoreSuite('SqliteLoginStateStore', async (limits) => {
  const file = nextFile()
  const stores = [new SqliteLoginStateStore(new Database(file), limits)]
  return {
    store: stores[0] as SqliteLoginStateStore,
    peer: async () => {
      const peer = new SqliteLoginStateStore(new Database(file), limits)
      stores.push(peer)
      return peer
    },
    close: async () => stores.forEach((store) => store.close()),
  }
})

tokenStoreSuite('SqliteTokenStore', async () => {
  const file = nextFile()
  const stores = [await SqliteTokenStore.open(file)]
  return {
    store: stores[0] as SqliteTokenStore,
    peer: async () => {
      const peer = await SqliteTokenStore.open(file)
      stores.push(peer)
      return peer
    },
    close: async () => stores.forEach((store) => store.close()),
  }
})

describe('SqliteTokenStore', () => {
  it('TTL: each write drops the sessions that expired before it', async () => {
    const db = new Database(nextFile())
    const store = new SqliteTokenStore(db)
    for (let i = 0; i < 10; i += 1) await store.set(`old-${i}`, session({ expiresAt: NOW + 10 }))
    await store.set('kept', session({ expiresAt: undefined }))
    await store.set('new', session({ updatedAt: NOW + 10, expiresAt: NOW + 1010 }))
    const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM authcode_client_sessions').get()
    expect(count?.n).toBe(2)
    store.close()
  })

  it('opens a table made by 0.1 (no expires_at): its sessions are kept until deleted', async () => {
    const db = new Database(nextFile())
    db.exec('CREATE TABLE authcode_client_sessions (id TEXT PRIMARY KEY, record TEXT NOT NULL, updated_at INTEGER NOT NULL, lock_owner TEXT, lock_until INTEGER) STRICT')
    const { expiresAt: _, ...old } = session()
    db.prepare('INSERT INTO authcode_client_sessions (id, record, updated_at) VALUES (?, ?, ?)').run('old', JSON.stringify(old), NOW)
    const store = new SqliteTokenStore(db)
    expect(await store.get('old', NOW + 365 * 86_400)).toEqual(old)
    await store.set('new', session())
    expect(await store.get('new', NOW + 3600)).toBeUndefined()
    store.close()
  })

  it('a store that cannot write rejects with STORE_UNAVAILABLE, naming no key or value', async () => {
    const file = nextFile()
    const store = await SqliteTokenStore.open(file)
    const logins = await SqliteLoginStateStore.open(file)
    store.close()
    logins.close()
    const failures = await Promise.all([
      store.set('secret-key', session()).catch((e: unknown) => e),
      store.get('secret-key', NOW).catch((e: unknown) => e),
      logins.save('secret-login', attempt(undefined)).catch((e: unknown) => e),
      logins.take('secret-login', NOW).catch((e: unknown) => e),
    ])
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(StoreError)
      expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE' })
      expect(JSON.stringify({ message: (failure as Error).message, cause: (failure as Error).cause })).not.toMatch(/secret|at-1|rt-1/)
    }
  })
})
