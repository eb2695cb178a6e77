/**
 * The two store contracts (`LoginStateStore` in `login/state-store.ts`, `TokenStore` in
 * `tokens/store.ts`) as one suite that every store runs unchanged: memory (`memory.test.ts`),
 * SQLite (`sqlite.test.ts`) and Redis (`redis.test.ts`). Single use of a login attempt under
 * concurrency, expiry, the bounds of pending logins, the refresh lease — each also across two
 * connections to one store, as two processes of an app would hold them.
 *
 * `open` must give an empty store; its `peer()` is another connection to the same data (for the
 * memory stores, the same object: they are one process's). Times are fixed numbers: nothing sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { LoginState, LoginStateLimits, LoginStateStore } from '../login/state-store.js'
import type { BackchannelLogout, SessionRecord, TokenStore } from '../tokens/store.js'

export const NOW = 1_700_000_000

/** A store under test, and how to reach its data from a second "process". */
export interface Opened<S> {
  store: S
  /** Another connection to the same data. */
  peer(): Promise<S>
  /** Closes every connection `open` and `peer` made. */
  close(): Promise<void>
}

/** A DPoP key as the client stores it (an ES256 private JWK; not a live key of anyone). */
export const DPOP_KEY = Object.freeze({
  alg: 'ES256' as const,
  privateJwk: Object.freeze({ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', d: 'jpsQnnGQmL-YBIffH1136cLCBOcTmv8ji4F6qYdRMAw', ext: true, key_ops: ['sign'] }),
})

export function attempt(caller: string | undefined, overrides: Partial<LoginState> = {}): LoginState {
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

export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    tokens: { accessToken: 'at-1', tokenType: 'bearer', expiresAt: NOW + 300, refreshToken: 'rt-1', idToken: 'id-1', scope: 'openid profile' },
    claims: { sub: 'user-1', name: 'Zoë <b>', nested: { list: [1, 'two', null] } },
    createdAt: NOW,
    updatedAt: NOW,
    expiresAt: NOW + 3600,
    ...overrides,
  }
}

/** Which of `ids` the store still holds (each looked at once: `take` removes it). */
async function kept(store: LoginStateStore, ids: string[]): Promise<string[]> {
  const found: string[] = []
  for (const id of ids) if ((await store.take(id, NOW)) !== undefined) found.push(id)
  return found
}

/** Runs the `LoginStateStore` contract against the stores `open` makes. */
export function loginStateStoreSuite(name: string, open: (limits?: LoginStateLimits) => Promise<Opened<LoginStateStore>>): void {
  describe(`${name} (LoginStateStore contract)`, () => {
    const opened: Opened<LoginStateStore>[] = []
    const fresh = async (limits?: LoginStateLimits): Promise<Opened<LoginStateStore>> => {
      const one = await open(limits)
      opened.push(one)
      return one
    }
    afterEach(async () => {
      for (const one of opened.splice(0)) await one.close()
    })

    it('gives an attempt back once, as saved; never an unknown one', async () => {
      const { store } = await fresh()
      const saved = attempt('192.0.2.1', { maxAge: 60, returnTo: '/caf%C3%A9?x=1' })
      await store.save('a', saved)
      expect(await store.take('a', NOW)).toEqual(saved)
      expect(await store.take('a', NOW)).toBeUndefined()
      expect(await store.take('unknown', NOW)).toBeUndefined()
    })

    it("RFC 9449: an attempt's DPoP key comes back whole (the private JWK, for the code exchange)", async () => {
      const { store } = await fresh()
      const saved = attempt(undefined, { dpopKey: DPOP_KEY })
      await store.save('d', saved)
      expect(await store.take('d', NOW)).toEqual(saved)
    })

    it('SECURITY 19: a login attempt is taken once only, under concurrency, from two connections', async () => {
      const { store, peer } = await fresh()
      const other = await peer()
      for (let round = 0; round < 5; round += 1) {
        await store.save(`race-${round}`, attempt('192.0.2.1'))
        const takes = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : other).take(`race-${round}`, NOW))
        const won = (await Promise.all(takes)).filter((entry) => entry !== undefined)
        expect(won).toHaveLength(1)
      }
    })

    it('TTL: never gives back an attempt at or after its expiresAt', async () => {
      const { store } = await fresh()
      await store.save('b', attempt(undefined))
      expect(await store.take('b', NOW + 600)).toBeUndefined()
      // …and it is gone, not only hidden: a take before expiry finds nothing either.
      expect(await store.take('b', NOW)).toBeUndefined()
      await store.save('c', attempt(undefined))
      expect(await store.take('c', NOW + 599)).toBeDefined()
    })

    it("SECURITY 9: past maxPerCaller a caller's oldest attempt goes, never another caller's", async () => {
      const { store } = await fresh({ maxPerCaller: 3, maxEntries: 10 })
      await store.save('victim', attempt('192.0.2.1'))
      await store.save('anonymous', attempt(undefined))
      const flood = Array.from({ length: 50 }, (_, i) => `flood-${i}`)
      for (const [i, id] of flood.entries()) await store.save(id, attempt('198.51.100.9', { createdAt: NOW + Math.floor(i / 20) }))
      expect(await kept(store, ['victim', 'anonymous'])).toEqual(['victim', 'anonymous'])
      expect(await kept(store, flood)).toEqual(flood.slice(-3))
    })

    it('SECURITY 9: the per-caller bound holds across connections', async () => {
      const { store, peer } = await fresh({ maxPerCaller: 2 })
      const other = await peer()
      await store.save('victim', attempt('192.0.2.1'))
      for (let i = 0; i < 10; i += 1) await (i % 2 === 0 ? store : other).save(`flood-${i}`, attempt('198.51.100.9'))
      expect(await other.take('victim', NOW)).toBeDefined()
      expect(await store.take('victim', NOW)).toBeUndefined()
      expect(await kept(store, Array.from({ length: 10 }, (_, i) => `flood-${i}`))).toEqual(['flood-8', 'flood-9'])
    })

    it('past maxEntries the oldest attempt of all goes; expired ones go first', async () => {
      const { store } = await fresh({ maxEntries: 2 })
      await store.save('a', attempt(undefined))
      await store.save('b', attempt('192.0.2.1'))
      await store.save('c', attempt('192.0.2.2'))
      expect(await kept(store, ['a', 'b', 'c'])).toEqual(['b', 'c'])
      await store.save('d', attempt('192.0.2.3'))
      await store.save('short', attempt('192.0.2.3', { expiresAt: NOW + 1 }))
      await store.save('later', attempt('192.0.2.4', { createdAt: NOW + 1, expiresAt: NOW + 601 }))
      expect(await kept(store, ['d', 'short', 'later'])).toEqual(['d', 'later'])
    })

    it('saving an id again replaces the attempt', async () => {
      const { store } = await fresh({ maxPerCaller: 1 })
      await store.save('same', attempt('192.0.2.1', { state: 'first' }))
      await store.save('same', attempt('192.0.2.1', { state: 'second' }))
      expect(await store.take('same', NOW)).toMatchObject({ state: 'second' })
      expect(await store.take('same', NOW)).toBeUndefined()
    })

    it('checks its bounds (TypeError)', async () => {
      for (const limits of [{ maxEntries: 0 }, { maxPerCaller: 1.5 }, { maxPerCaller: -1 }]) await expect(fresh(limits)).rejects.toThrow(TypeError)
    })
  })
}

/** Runs the `TokenStore` contract against the stores `open` makes. */
export function tokenStoreSuite(name: string, open: () => Promise<Opened<TokenStore>>): void {
  describe(`${name} (TokenStore contract)`, () => {
    const opened: Opened<TokenStore>[] = []
    const fresh = async (): Promise<Opened<TokenStore>> => {
      const one = await open()
      opened.push(one)
      return one
    }
    afterEach(async () => {
      for (const one of opened.splice(0)) await one.close()
    })

    it('keeps, replaces and deletes a session; another connection sees the same', async () => {
      const { store, peer } = await fresh()
      const other = await peer()
      expect(await store.get('k', NOW)).toBeUndefined()
      await store.set('k', session())
      expect(await other.get('k', NOW)).toEqual(session())
      const refreshed = session({ tokens: { ...session().tokens, accessToken: 'at-2', refreshToken: 'rt-2' }, updatedAt: NOW + 10, expiresAt: NOW + 3610 })
      await other.set('k', refreshed)
      expect(await store.get('k', NOW + 10)).toEqual(refreshed)
      await store.delete('k')
      expect(await other.get('k', NOW + 10)).toBeUndefined()
      await store.delete('never-there')
    })

    it("RFC 9449: a DPoP session's key is kept with it, across connections; a Bearer session has none", async () => {
      const { store, peer } = await fresh()
      const other = await peer()
      const bound = session({ tokens: { ...session().tokens, tokenType: 'dpop' }, dpopKey: DPOP_KEY })
      await store.set('dpop', bound)
      expect(await other.get('dpop', NOW)).toEqual(bound)
      await store.set('bearer', session())
      expect((await other.get('bearer', NOW))?.dpopKey).toBeUndefined()
    })

    it('TTL: never gives back a session at or after its expiresAt; a later set extends it', async () => {
      const { store } = await fresh()
      await store.set('k', session())
      expect(await store.get('k', NOW + 3599)).toBeDefined()
      expect(await store.get('k', NOW + 3600)).toBeUndefined()
      await store.set('extended', session())
      await store.set('extended', session({ updatedAt: NOW + 3000, expiresAt: NOW + 6600 }))
      expect(await store.get('extended', NOW + 3600)).toBeDefined()
      await store.set('forever', session({ expiresAt: undefined }))
      expect(await store.get('forever', NOW + 10 * 365 * 86_400)).toBeDefined()
    })

    it('an expired session has no lease to take', async () => {
      const { store } = await fresh()
      await store.set('k', session())
      expect(await store.acquireRefreshLock('k', 'a', NOW + 3630, NOW + 3600)).toBe(false)
    })

    it('the refresh lease: one holder at a time, the holder again, anyone once it lapses; none for an unknown session', async () => {
      const { store } = await fresh()
      expect(await store.acquireRefreshLock('nobody', 'a', NOW + 30, NOW)).toBe(false)
      await store.set('k', session())
      expect(await store.acquireRefreshLock('k', 'a', NOW + 30, NOW)).toBe(true)
      expect(await store.acquireRefreshLock('k', 'b', NOW + 31, NOW + 1)).toBe(false)
      expect(await store.acquireRefreshLock('k', 'a', NOW + 32, NOW + 2)).toBe(true)
      // Storing the refreshed record keeps the lease: the holder still owns it.
      await store.set('k', session({ updatedAt: NOW + 3 }))
      expect(await store.acquireRefreshLock('k', 'b', NOW + 33, NOW + 3)).toBe(false)
      expect(await store.acquireRefreshLock('k', 'b', NOW + 62, NOW + 32)).toBe(true)
    })

    it('only the holder releases the lease; deleting the session drops it', async () => {
      const { store } = await fresh()
      await store.set('k', session())
      expect(await store.acquireRefreshLock('k', 'a', NOW + 30, NOW)).toBe(true)
      await store.releaseRefreshLock('k', 'b')
      expect(await store.acquireRefreshLock('k', 'b', NOW + 30, NOW)).toBe(false)
      await store.releaseRefreshLock('k', 'a')
      expect(await store.acquireRefreshLock('k', 'b', NOW + 30, NOW)).toBe(true)
      await store.delete('k')
      await store.set('k', session())
      expect(await store.acquireRefreshLock('k', 'c', NOW + 30, NOW)).toBe(true)
      await store.releaseRefreshLock('nobody', 'c')
    })

    it('SECURITY 22: of many owners racing for the lease from two connections, exactly one wins', async () => {
      const { store, peer } = await fresh()
      const other = await peer()
      for (let round = 0; round < 5; round += 1) {
        const key = `race-${round}`
        await store.set(key, session())
        const tries = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? store : other).acquireRefreshLock(key, `owner-${i}`, NOW + 30, NOW))
        expect((await Promise.all(tries)).filter(Boolean)).toHaveLength(1)
      }
    })

    /** A session signed in by `sub` in the server's login session `sid` of issuer `iss`. */
    const signedIn = (sid: string | undefined, sub = 'user-1', iss = 'https://as.test') => session({ claims: { iss, sub, ...(sid === undefined ? {} : { sid }), name: 'Zoë' } })
    const logout = (overrides: Partial<BackchannelLogout> = {}): BackchannelLogout => ({ iss: 'https://as.test', sid: 'sid-1', sub: 'user-1', jti: 'jti-1', expiresAt: NOW + 120, ...overrides })

    it('OpenID Back-Channel Logout §2.7: endSessions deletes the sessions of the logout\'s login session, and nothing else', async () => {
      const { store, peer } = await fresh()
      if (store.endSessions === undefined) throw new Error('every shipped store takes back-channel logouts')
      await store.set('a', signedIn('sid-1'))
      await store.set('b', signedIn('sid-1'))
      await store.set('other-sid', signedIn('sid-2'))
      await store.set('other-user', signedIn('sid-1', 'user-2'))
      await store.set('other-issuer', signedIn('sid-1', 'user-1', 'https://elsewhere.test'))
      await store.set('no-id-token', session({ claims: undefined }))
      expect(await store.endSessions(logout(), NOW)).toBe(2)
      const other = await peer()
      for (const key of ['a', 'b']) expect(await other.get(key, NOW)).toBeUndefined()
      for (const key of ['other-sid', 'other-user', 'other-issuer', 'no-id-token']) expect(await other.get(key, NOW)).toBeDefined()
    })

    it('§2.7: a logout without sid ends every session of its sub; one that names neither ends none', async () => {
      const { store } = await fresh()
      if (store.endSessions === undefined) throw new Error('every shipped store takes back-channel logouts')
      await store.set('a', signedIn('sid-1'))
      await store.set('b', signedIn('sid-2'))
      await store.set('c', signedIn(undefined))
      await store.set('someone-else', signedIn('sid-3', 'user-2'))
      expect(await store.endSessions(logout({ sid: undefined, sub: undefined, jti: 'none' }), NOW)).toBe(0)
      expect(await store.endSessions(logout({ sid: undefined, jti: 'by-sub' }), NOW)).toBe(3)
      expect(await store.get('someone-else', NOW)).toBeDefined()
    })

    it('§2.6: a logout token\'s jti is used once, across connections, until it expires', async () => {
      const { store, peer } = await fresh()
      const other = await peer()
      if (store.endSessions === undefined || other.endSessions === undefined) throw new Error('every shipped store takes back-channel logouts')
      await store.set('a', signedIn('sid-1'))
      const first = await Promise.all([store.endSessions(logout(), NOW), other.endSessions(logout(), NOW)])
      expect(first.toSorted()).toEqual([1, 'replayed'])
      // Another issuer may use the same jti.
      expect(await store.endSessions(logout({ iss: 'https://elsewhere.test' }), NOW)).toBe(0)
      // A session started after the logout is not ended by a replay of it.
      await store.set('b', signedIn('sid-1'))
      expect(await other.endSessions(logout(), NOW + 60)).toBe('replayed')
      expect(await store.get('b', NOW + 60)).toBeDefined()
    })
  })
}
