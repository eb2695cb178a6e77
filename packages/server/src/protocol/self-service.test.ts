import { beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { NOW, testUser } from '../../test/protocol-fixtures.js'
import { hashPassword, verifyPassword } from '../tokens/secrets.js'
import { StoreAccounts, type Account, type AccountProvider } from './accounts.js'
import { SECURE_RANDOM, type JourneyDeps } from './journey.js'
import { Throttle } from './rate-limit.js'
import { canChangePassword, changePassword, signOutEverywhere, signedInBrowsers, type PasswordChangeInput } from './self-service.js'
import type { LoginSessionRecord, UserRecord } from './store.js'

const PASSWORD = 'correct horse battery staple'
const NEXT = 'a brand new passphrase'
let passwordHash: string
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD)
})

const session = (idHash: string, userId: string, browserHash: string, authTime = NOW): LoginSessionRecord => ({
  idHash,
  userId,
  authTime,
  createdAt: authTime,
  expiresAt: authTime + 3600,
  browserHash,
})

/** The journey's dependencies over a memory store holding alice (signed in in browsers b1 and b2) and bob (b3). */
async function world(accounts?: (store: MemoryStore) => AccountProvider) {
  const store = new MemoryStore()
  const alice = testUser({ id: 'u-alice', passwordHash })
  const bob = testUser({ id: 'u-bob', username: 'bob', passwordHash })
  await store.createUser(alice)
  await store.createUser(bob)
  await store.createLoginSession(session('s1', alice.id, 'b1', NOW - 100))
  await store.createLoginSession(session('s2', alice.id, 'b2', NOW - 10))
  await store.createLoginSession(session('s3', bob.id, 'b3'))
  await store.createInteraction({
    id: 'i1',
    clientId: 'c1',
    request: '{}',
    state: 'created',
    csrfToken: 'csrf',
    browserHash: 'b1',
    userId: null,
    authTime: null,
    sessionHash: null,
    createdAt: NOW,
    expiresAt: NOW + 600,
  })
  const limit = { max: 2, window: 900, delays: [15] }
  const deps: JourneyDeps = {
    store,
    accounts: accounts?.(store) ?? new StoreAccounts(store),
    config: { lifetimes: { code: 60, interaction: 600, loginSession: 3600 }, consent: { skipForFirstParty: true } },
    random: SECURE_RANDOM,
    throttles: {
      loginAccount: new Throttle(store, limit, 'login-account:'),
      loginIp: new Throttle(store, { max: 50, window: 900, delays: [] }, 'login-ip:'),
      loginDevice: new Throttle(store, limit, 'login-device:'),
      interactionIp: new Throttle(store, { max: 50, window: 900, delays: [] }, 'interaction-ip:'),
    },
  }
  return { store, deps, alice, bob }
}

const accountOf = (user: UserRecord): Account => ({ id: user.id, username: user.username, disabled: false })

const input = (user: UserRecord, overrides: Partial<PasswordChangeInput> = {}): PasswordChangeInput => ({
  account: accountOf(user),
  current: PASSWORD,
  next: NEXT,
  ip: '192.0.2.1',
  device: undefined,
  keepSessionHash: 's2',
  now: NOW,
  ...overrides,
})

describe('signedInBrowsers', () => {
  it('the user\'s live sessions, the latest sign-in first, the asking browser marked', async () => {
    const { deps, alice } = await world()
    expect(await signedInBrowsers(deps, alice.id, 's1', NOW)).toEqual([
      { startedAt: NOW - 10, lastSignInAt: NOW - 10, current: false },
      { startedAt: NOW - 100, lastSignInAt: NOW - 100, current: true },
    ])
  })
})

describe('changePassword', () => {
  it('SECURITY.md 7: sets the new password and ends every other session of the user, in one step; the asking browser stays', async () => {
    const { store, deps, alice } = await world()
    expect(await changePassword(deps, input(alice))).toEqual({ kind: 'changed' })
    expect(await verifyPassword(NEXT, store.users.get(alice.id)?.passwordHash ?? '')).toBe(true)
    expect([...store.loginSessions.keys()].sort()).toEqual(['s2', 's3'])
  })

  it('refuses a new password the rule refuses, before checking (or counting) anything', async () => {
    const { store, deps, alice } = await world()
    expect(await changePassword(deps, input(alice, { next: 'short', current: 'wrong' }))).toEqual({ kind: 'refused', problem: 'too_short' })
    expect(await changePassword(deps, input(alice, { next: 'x'.repeat(1025) }))).toEqual({ kind: 'refused', problem: 'too_long' })
    expect(store.rateLimits.size).toBe(0)
    expect(store.users.get(alice.id)?.passwordHash).toBe(passwordHash)
  })

  it('SECURITY.md 27: a wrong current password is invalid and counts as a failed sign-in; past the limit the account waits', async () => {
    const { store, deps, alice } = await world()
    expect(await changePassword(deps, input(alice, { current: 'wrong 1' }))).toEqual({ kind: 'invalid' })
    expect(await changePassword(deps, input(alice, { current: 'wrong 2' }))).toEqual({ kind: 'invalid' })
    expect(await changePassword(deps, input(alice))).toEqual({ kind: 'throttled', retryAfter: 15 })
    expect(store.users.get(alice.id)?.passwordHash).toBe(passwordHash)
    expect(store.loginSessions.size).toBe(3)
  })

  it('the current password must be the signed-in account\'s own', async () => {
    const { deps, alice, bob } = await world()
    // Bob's password checks out for "bob", but the page is alice's.
    expect(await changePassword(deps, input(alice, { account: { ...accountOf(alice), username: bob.username } }))).toEqual({ kind: 'invalid' })
  })

  it('another provider: its setPassword, then the other sessions end; without setPassword, unsupported', async () => {
    const set: [string, string][] = []
    const provider = (store: MemoryStore): AccountProvider => {
      const builtIn = new StoreAccounts(store)
      return {
        findById: (id) => builtIn.findById(id),
        findByUsername: (username) => builtIn.findByUsername(username),
        verifyPassword: (username, password, now) => builtIn.verifyPassword(username, password, now),
        claims: (account) => builtIn.claims(account),
        setPassword: async (id, password) => {
          set.push([id, password])
          return true
        },
      }
    }
    const { store, deps, alice } = await world(provider)
    expect(canChangePassword(deps.accounts)).toBe(true)
    expect(await changePassword(deps, input(alice))).toEqual({ kind: 'changed' })
    expect(set).toEqual([[alice.id, NEXT]])
    expect([...store.loginSessions.keys()].sort()).toEqual(['s2', 's3'])

    const { setPassword: _, ...readOnly } = provider(store)
    const without = await world(() => readOnly)
    expect(canChangePassword(without.deps.accounts)).toBe(false)
    expect(await changePassword(without.deps, input(without.alice))).toEqual({ kind: 'unsupported' })
  })
})

describe('signOutEverywhere', () => {
  it('ends this browser (its sessions and interactions) and every other session of the user, no one else\'s', async () => {
    const { store, deps, alice } = await world()
    const result = await signOutEverywhere(deps, alice.id, { bindingHash: 'b1', sessionHash: undefined }, NOW)
    expect(result).toMatchObject({ kind: 'signed_out', logoutsQueued: 0, logoutsDropped: 0 })
    expect(result.sessions).toEqual([{ userId: alice.id }, { userId: alice.id }])
    expect([...store.loginSessions.keys()]).toEqual(['s3'])
    expect(store.interactions.has('i1')).toBe(false)
  })
})
