/**
 * One suite for every login state store the package ships (`LoginStateStore`'s contract): single
 * use, expiry, and the two bounds — per caller (SECURITY 9) and in all.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import type { LoginState, LoginStateLimits, LoginStateStore } from '../login/state-store.js'
import { MemoryLoginStateStore } from './memory.js'
import { SqliteLoginStateStore } from './sqlite.js'

const dir = await mkdtemp(path.join(tmpdir(), 'authcode-client-logins-'))
afterAll(() => rm(dir, { recursive: true, force: true }))
let files = 0

const STORES: { name: string; open: (limits?: LoginStateLimits) => LoginStateStore }[] = [
  { name: 'MemoryLoginStateStore', open: (limits) => new MemoryLoginStateStore(limits) },
  { name: 'SqliteLoginStateStore', open: (limits) => new SqliteLoginStateStore(new Database(path.join(dir, `${(files += 1)}.db`)), limits) },
]

const NOW = 1_700_000_000

function attempt(caller: string | undefined, overrides: Partial<LoginState> = {}): LoginState {
  return {
    state: 'st',
    codeVerifier: 'cv',
    nonce: 'n',
    scope: 'openid',
    redirectUri: 'https://rp.test/cb',
    issuer: 'https://as.test',
    returnTo: '/inbox',
    maxAge: undefined,
    caller,
    createdAt: NOW,
    expiresAt: NOW + 600,
    ...overrides,
  }
}

/** Which of `ids` the store still holds (each looked at once: `take` removes it). */
async function kept(store: LoginStateStore, ids: string[]): Promise<string[]> {
  const found: string[] = []
  for (const id of ids) if ((await store.take(id, NOW)) !== undefined) found.push(id)
  return found
}

for (const { name, open } of STORES) {
  describe(name, () => {
    it('gives an attempt back once, as saved; never once expired', async () => {
      const store = open()
      const saved = attempt('192.0.2.1', { maxAge: 60 })
      await store.save('a', saved)
      const [first, second] = await Promise.all([store.take('a', NOW), store.take('a', NOW)])
      expect([first, second].filter((x) => x !== undefined)).toEqual([saved])
      await store.save('b', attempt(undefined))
      expect(await store.take('b', NOW + 600)).toBeUndefined()
      expect(await store.take('unknown', NOW)).toBeUndefined()
    })

    it("SECURITY 9: past maxPerCaller a caller's oldest attempt goes, never another caller's", async () => {
      const store = open({ maxPerCaller: 3, maxEntries: 10 })
      await store.save('victim', attempt('192.0.2.1'))
      await store.save('anonymous', attempt(undefined))
      const flood = Array.from({ length: 50 }, (_, i) => `flood-${i}`)
      for (const [i, id] of flood.entries()) await store.save(id, attempt('198.51.100.9', { createdAt: NOW + Math.floor(i / 20) }))
      expect(await kept(store, ['victim', 'anonymous'])).toEqual(['victim', 'anonymous'])
      expect(await kept(store, flood)).toEqual(flood.slice(-3))
    })

    it('past maxEntries the oldest attempt of all goes; expired ones go first', async () => {
      const store = open({ maxEntries: 2 })
      await store.save('a', attempt(undefined))
      await store.save('b', attempt('192.0.2.1'))
      await store.save('c', attempt('192.0.2.2'))
      expect(await kept(store, ['a', 'b', 'c'])).toEqual(['b', 'c'])
      await store.save('d', attempt('192.0.2.3'))
      await store.save('short', attempt('192.0.2.3', { expiresAt: NOW + 1 }))
      await store.save('later', attempt('192.0.2.4', { createdAt: NOW + 1, expiresAt: NOW + 601 }))
      expect(await kept(store, ['d', 'short', 'later'])).toEqual(['d', 'later'])
    })

    it('checks its bounds (TypeError)', () => {
      for (const limits of [{ maxEntries: 0 }, { maxPerCaller: 1.5 }, { maxPerCaller: -1 }]) expect(() => open(limits)).toThrow(TypeError)
    })
  })
}

describe('SqliteLoginStateStore shared by two processes', () => {
  it('SECURITY 9: the per-caller bound holds across connections; an attempt saved by one is taken once by the other', async () => {
    const file = path.join(dir, 'shared.db')
    const one = new SqliteLoginStateStore(new Database(file), { maxPerCaller: 2 })
    const two = new SqliteLoginStateStore(new Database(file), { maxPerCaller: 2 })
    await one.save('victim', attempt('192.0.2.1'))
    for (let i = 0; i < 10; i += 1) await (i % 2 === 0 ? one : two).save(`flood-${i}`, attempt('198.51.100.9'))
    expect(await two.take('victim', NOW)).toBeDefined()
    expect(await one.take('victim', NOW)).toBeUndefined()
    expect(await kept(one, Array.from({ length: 10 }, (_, i) => `flood-${i}`))).toEqual(['flood-8', 'flood-9'])
    one.close()
    two.close()
  })
})
