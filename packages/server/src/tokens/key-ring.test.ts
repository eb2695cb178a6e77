import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { JWK } from 'jose'
import { DuplicateError, type KeyStore, type SigningKeyRecord } from '../protocol/store.js'
import { SIGNING_ALGS } from './algorithms.js'
import { KeyRing, type KeyRingOptions } from './key-ring.js'

/** Test double of the KeyStore over an array (the SQL stores have their own suite). */
class MemoryKeyStore implements KeyStore {
  rows: SigningKeyRecord[] = []
  listCalls = 0

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    this.listCalls++
    return this.rows.map((row) => ({ ...row }))
  }

  async insertSigningKeys(keys: SigningKeyRecord[]): Promise<void> {
    for (const key of keys) {
      if (this.rows.some((row) => row.kid === key.kid)) throw new DuplicateError(key.kid)
    }
    this.rows.push(...keys.map((key) => ({ ...key })))
  }

  async deleteSigningKeys(kids: string[]): Promise<void> {
    this.rows = this.rows.filter((row) => !kids.includes(row.kid))
  }

  async retireSigningKey(kid: string, now: number): Promise<boolean> {
    const row = this.rows.find((r) => r.kid === kid && r.retiredAt === null)
    if (row !== undefined) row.retiredAt = now
    return row !== undefined
  }
}

const T0 = 1_700_000_000
const OPTIONS: KeyRingOptions = { activationDelay: 3600, maxTokenLifetime: 600, cacheTtl: 60 }
const kek = randomBytes(32)

const kidsOf = (jwks: { keys: JWK[] }): string[] => jwks.keys.map((key) => key.kid ?? '')

describe('KeyRing', () => {
  it('refuses options that would let an instance sign with a key others have not seen', () => {
    const store = new MemoryKeyStore()
    expect(() => new KeyRing(store, kek, { ...OPTIONS, activationDelay: 10, cacheTtl: 60 })).toThrow(TypeError)
    expect(() => new KeyRing(store, kek, { ...OPTIONS, maxTokenLifetime: -1 })).toThrow(TypeError)
    expect(() => new KeyRing(store, randomBytes(31), OPTIONS)).toThrow(TypeError)
  })

  it('ensureKeys creates one active key per algorithm, once', async () => {
    const store = new MemoryKeyStore()
    const ring = new KeyRing(store, kek, OPTIONS)
    expect(await ring.ensureKeys(T0)).toEqual(['ES256', 'RS256', 'EdDSA'])
    expect(await ring.ensureKeys(T0 + 1)).toEqual([])
    expect(await new KeyRing(store, kek, OPTIONS).ensureKeys(T0 + 2)).toEqual([])
    expect(store.rows).toHaveLength(3)
    for (const alg of SIGNING_ALGS) {
      const key = await ring.signingKey(alg, T0)
      expect(key.alg).toBe(alg)
      expect(store.rows.find((row) => row.alg === alg)?.kid).toBe(key.kid)
    }
    // Only the missing algorithm is created.
    await store.deleteSigningKeys(store.rows.filter((row) => row.alg === 'EdDSA').map((row) => row.kid))
    expect(await ring.ensureKeys(T0 + 3)).toEqual(['EdDSA'])
  })

  it('signingKey throws when no key is active', async () => {
    const ring = new KeyRing(new MemoryKeyStore(), kek, OPTIONS)
    await expect(ring.signingKey('ES256', T0)).rejects.toThrow(/no active ES256 signing key/)
  })

  it('SECURITY 25: rotation publishes the new key at once, switches at activatesAt, retires the old one after maxTokenLifetime', async () => {
    const store = new MemoryKeyStore()
    const ring = new KeyRing(store, kek, OPTIONS)
    await ring.ensureKeys(T0)
    const old = Object.fromEntries(await Promise.all(SIGNING_ALGS.map(async (alg) => [alg, (await ring.signingKey(alg, T0)).kid])))

    const t1 = T0 + 100
    const fresh = await ring.rotate(t1)
    expect(fresh).toHaveLength(3)
    const activatesAt = t1 + OPTIONS.activationDelay
    expect(store.rows.filter((row) => fresh.includes(row.kid)).every((row) => row.activatesAt === activatesAt)).toBe(true)

    // Published immediately, old keys too.
    expect(new Set(kidsOf(await ring.jwks(t1)))).toEqual(new Set([...Object.values(old), ...fresh]))
    for (const kid of fresh) expect(await ring.verificationKey(kid, t1)).toBeDefined()

    // The old key signs until the new one activates; then the new one does.
    for (const alg of SIGNING_ALGS) {
      expect((await ring.signingKey(alg, activatesAt - 1)).kid).toBe(old[alg])
      const next = await ring.signingKey(alg, activatesAt)
      expect(fresh).toContain(next.kid)
      expect(next.kid).not.toBe(old[alg])
    }

    // Superseded at activatesAt: still published until activatesAt + maxTokenLifetime.
    const retiredAt = activatesAt + OPTIONS.maxTokenLifetime
    expect(kidsOf(await ring.jwks(retiredAt - 1))).toHaveLength(6)
    expect(await ring.verificationKey(old.ES256 as string, retiredAt - 1)).toBeDefined()
    expect(await ring.prune(retiredAt - 1)).toEqual([])

    const after = await ring.jwks(retiredAt)
    expect(new Set(kidsOf(after))).toEqual(new Set(fresh))
    expect(await ring.verificationKey(old.ES256 as string, retiredAt)).toBeUndefined()

    expect(new Set(await ring.prune(retiredAt))).toEqual(new Set(Object.values(old)))
    expect(store.rows.map((row) => row.kid).sort()).toEqual([...fresh].sort())
    expect(await ring.prune(retiredAt + 10_000)).toEqual([])
  })

  it('publishes only public members, with kid, alg and use', async () => {
    const ring = new KeyRing(new MemoryKeyStore(), kek, OPTIONS)
    await ring.ensureKeys(T0)
    const { keys } = await ring.jwks(T0)
    expect(keys).toHaveLength(3)
    for (const jwk of keys) {
      expect(jwk.use).toBe('sig')
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwk).not.toHaveProperty(member)
    }
    expect(keys.map((jwk) => jwk.alg)).toEqual(['ES256', 'RS256', 'EdDSA'])
  })

  it('a rotation by another process is published at once by jwks and used for signing by activatesAt', async () => {
    const store = new MemoryKeyStore()
    const server = new KeyRing(store, kek, OPTIONS)
    await server.ensureKeys(T0)
    await server.signingKey('ES256', T0) // warms the cache
    const cli = new KeyRing(store, kek, OPTIONS)
    const fresh = await cli.rotate(T0 + 1)
    expect(kidsOf(await server.jwks(T0 + 1))).toEqual(expect.arrayContaining(fresh))
    expect(fresh).toContain((await server.signingKey('ES256', T0 + 1 + OPTIONS.activationDelay)).kid)
  })

  it('signingKey reads the store once per cacheTtl and decrypts each key once', async () => {
    const store = new MemoryKeyStore()
    const ring = new KeyRing(store, kek, OPTIONS)
    await ring.ensureKeys(T0)
    store.listCalls = 0
    const first = await ring.signingKey('ES256', T0)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ring.signingKey('ES256', T0 + (i % 59))))
    expect(store.listCalls).toBe(1)
    for (const result of results) expect(result.key).toBe(first.key)
    await ring.verificationKey(first.kid, T0 + 30)
    expect(store.listCalls).toBe(1)

    await ring.signingKey('ES256', T0 + OPTIONS.cacheTtl)
    expect(store.listCalls).toBe(2)
    // The decrypted KeyObject survives the refresh of the list.
    expect((await ring.signingKey('ES256', T0 + OPTIONS.cacheTtl + 1)).key).toBe(first.key)

    // jwks never uses the cache.
    await ring.jwks(T0 + OPTIONS.cacheTtl + 1)
    await ring.jwks(T0 + OPTIONS.cacheTtl + 1)
    expect(store.listCalls).toBe(4)
  })

  it('an unknown kid triggers at most one store read per second', async () => {
    const store = new MemoryKeyStore()
    const ring = new KeyRing(store, kek, OPTIONS)
    await ring.ensureKeys(T0)
    await ring.signingKey('ES256', T0)
    store.listCalls = 0
    for (let i = 0; i < 5; i++) expect(await ring.verificationKey(`unknown-${i}`, T0)).toBeUndefined()
    expect(store.listCalls).toBe(0)
    expect(await ring.verificationKey('unknown', T0 + 1)).toBeUndefined()
    expect(await ring.verificationKey('unknown', T0 + 1)).toBeUndefined()
    expect(store.listCalls).toBe(1)
  })

  it('refuses to sign with keys sealed under another key-encryption secret', async () => {
    const store = new MemoryKeyStore()
    await new KeyRing(store, kek, OPTIONS).ensureKeys(T0)
    const other = new KeyRing(store, randomBytes(32), OPTIONS)
    await expect(other.signingKey('RS256', T0)).rejects.toThrow(/does not match the one the keys were created with/)
  })

  it('refuses a row whose private key belongs to another kid of the same secret', async () => {
    const store = new MemoryKeyStore()
    await new KeyRing(store, kek, OPTIONS).ensureKeys(T0)
    const [a, b] = store.rows.filter((row) => row.alg === 'ES256' || row.alg === 'RS256')
    if (!a || !b) throw new Error('setup')
    ;[a.privateKeyEncrypted, b.privateKeyEncrypted] = [b.privateKeyEncrypted, a.privateKeyEncrypted]
    const ring = new KeyRing(store, kek, OPTIONS)
    await expect(ring.signingKey(a.alg, T0)).rejects.toThrow(/does not match/)
  })
})

describe('KeyRing: list and retire (issue #20)', () => {
  /** A ring whose first keys signed from T0 and whose rotated keys sign from T1. */
  async function rotated() {
    const store = new MemoryKeyStore()
    const ring = new KeyRing(store, kek, OPTIONS)
    await ring.ensureKeys(T0)
    const first = (await ring.signingKey('ES256', T0)).kid
    const fresh = await ring.rotate(T0 + 10)
    const T1 = T0 + 10 + OPTIONS.activationDelay
    const second = fresh.find((kid) => store.rows.find((row) => row.kid === kid)?.alg === 'ES256') ?? ''
    return { store, ring, first, second, T1 }
  }

  it('list says where each key is in its life, oldest first, and when it leaves the JWKS', async () => {
    const { ring, first, second, T1 } = await rotated()
    const es256 = async (now: number) => (await ring.list(now)).filter((key) => key.alg === 'ES256')
    expect(await es256(T1 - 1)).toEqual([
      { kid: first, alg: 'ES256', state: 'active', createdAt: T0, activatesAt: T0, retiredAt: null, publishedUntil: null },
      { kid: second, alg: 'ES256', state: 'pending', createdAt: T0 + 10, activatesAt: T1, retiredAt: null, publishedUntil: null },
    ])
    expect((await es256(T1)).map((key) => [key.state, key.publishedUntil])).toEqual([['superseded', T1 + OPTIONS.maxTokenLifetime], ['active', null]])
    expect((await es256(T1 + OPTIONS.maxTokenLifetime)).map((key) => key.state)).toEqual(['expired', 'active'])
    expect(await ring.list(T1)).toHaveLength(6)
  })

  it('refuses to retire the only key that signs an algorithm, and says which key will take over and when', async () => {
    const { ring, store, first, second, T1 } = await rotated()
    const refused = await ring.retire(first, T1 - 1)
    expect(refused).toMatchObject({ kind: 'only_signing_key', alg: 'ES256', pending: { kid: second, activatesAt: T1 } })
    expect(store.rows.find((row) => row.kid === first)?.retiredAt).toBeNull()
    expect((await ring.signingKey('ES256', T1 - 1)).kid).toBe(first)
    // With no newer key at all, nothing takes over.
    const lone = new KeyRing(new MemoryKeyStore(), kek, OPTIONS)
    await lone.ensureKeys(T0)
    const kid = (await lone.signingKey('EdDSA', T0)).kid
    expect(await lone.retire(kid, T0 + 5)).toEqual({ kind: 'only_signing_key', alg: 'EdDSA', pending: undefined })
  })

  it('a superseded key retired stays published until the tokens it signed expire, then is pruned', async () => {
    const { ring, first, T1 } = await rotated()
    const retired = await ring.retire(first, T1 + 5)
    expect(retired).toMatchObject({ kind: 'retired', key: { kid: first, state: 'retired', retiredAt: T1 + 5, publishedUntil: T1 + OPTIONS.maxTokenLifetime } })
    expect(kidsOf(await ring.jwks(T1 + 6))).toContain(first)
    expect(await ring.prune(T1 + OPTIONS.maxTokenLifetime - 1)).toEqual([])
    expect(await ring.prune(T1 + OPTIONS.maxTokenLifetime)).toContain(first)
  })

  it('retiring the key that signs hands signing to the other published key at once; the retired key stays published maxTokenLifetime', async () => {
    const { ring, first, second, T1 } = await rotated()
    const at = T1 + 100
    expect((await ring.signingKey('ES256', at)).kid).toBe(second)
    expect(await ring.retire(second, at)).toMatchObject({ kind: 'retired', key: { kid: second, state: 'retired', publishedUntil: at + OPTIONS.maxTokenLifetime } })
    // Another instance's ring sees it at its next read (within cacheTtl); this one at once.
    expect((await ring.signingKey('ES256', at)).kid).toBe(first)
    expect((await ring.list(at)).find((key) => key.kid === first)?.state).toBe('active')
    const later = at + OPTIONS.maxTokenLifetime
    expect(kidsOf(await ring.jwks(later - 1))).toEqual(expect.arrayContaining([first, second]))
    expect(await ring.verificationKey(second, later - 1)).toBeDefined()
    expect(kidsOf(await ring.jwks(later))).not.toContain(second)
    expect(await ring.verificationKey(second, later)).toBeUndefined()
    // The other algorithms' first keys, superseded at T1, go too; the first ES256 key signs again, so it stays.
    const pruned = await ring.prune(later)
    expect(pruned).toContain(second)
    expect(pruned).not.toContain(first)
    expect((await ring.signingKey('ES256', later)).kid).toBe(first)
  })

  it('a pending key retired never signs and leaves the JWKS at once; a retired or unknown key is said so', async () => {
    const { ring, first, second, T1 } = await rotated()
    expect(await ring.retire(second, T0 + 20)).toMatchObject({ kind: 'retired', key: { state: 'expired' } })
    expect(kidsOf(await ring.jwks(T0 + 20))).not.toContain(second)
    expect((await ring.signingKey('ES256', T1 + 1)).kid).toBe(first)
    expect(await ring.retire(second, T0 + 21)).toMatchObject({ kind: 'already_retired', key: { kid: second } })
    expect(await ring.retire('nope', T0)).toEqual({ kind: 'unknown' })
  })

  it('ensureKeys makes a new key for an algorithm whose every key is retired', async () => {
    const store = new MemoryKeyStore()
    const ring = new KeyRing(store, kek, OPTIONS)
    await ring.ensureKeys(T0)
    const kid = (await ring.signingKey('RS256', T0)).kid
    await store.retireSigningKey(kid, T0 + 1)
    expect(await ring.ensureKeys(T0 + 2)).toEqual(['RS256'])
    expect((await ring.signingKey('RS256', T0 + 2)).kid).not.toBe(kid)
  })
})
