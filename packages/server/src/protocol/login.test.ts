import { randomBytes, scryptSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { NOW, testUser } from '../../test/protocol-fixtures.js'
import { ARGON2ID_REFERENCE, BCRYPT_REFERENCE } from '../../test/fixtures/password-hashes.js'
import { hashPassword, passwordNeedsRehash, verifyPassword } from '../tokens/secrets.js'
import { StoreAccounts, type Account, type AccountProvider } from './accounts.js'
import { checkLogin, type LoginAttempt, type LoginResult } from './login.js'
import { Throttle } from './rate-limit.js'
import type { UserRecord } from './store.js'

const PASSWORD = 'correct horse battery staple'
// Small limits keep the number of scrypt checks down; the rules are the same at any size.
const ACCOUNT = { max: 2, window: 900, delays: [15, 30] }
const IP = { max: 3, window: 900, delays: [] }

let passwordHash: string
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD)
})

/** The account checkLogin gives for `user`. */
const accountOf = (user: UserRecord): Account => ({ id: user.id, username: user.username, disabled: user.disabledAt !== null })

async function setup(user: UserRecord = testUser({ passwordHash }), provider?: (store: MemoryStore) => AccountProvider) {
  const store = new MemoryStore()
  await store.createUser(user)
  const accounts = provider?.(store) ?? new StoreAccounts(store)
  let checks = 0
  const verify = accounts.verifyPassword.bind(accounts)
  accounts.verifyPassword = (...args) => {
    checks++
    return verify(...args)
  }
  const deps = {
    store,
    accounts,
    throttles: {
      loginAccount: new Throttle(store, ACCOUNT, 'login-account:'),
      loginIp: new Throttle(store, IP, 'login-ip:'),
      loginDevice: new Throttle(store, ACCOUNT, 'login-device:'),
    },
  }
  const login = (attempt: Partial<LoginAttempt> = {}, now = NOW): Promise<LoginResult> =>
    checkLogin(deps, { username: 'alice', password: PASSWORD, ip: '203.0.113.7', device: undefined, ...attempt }, now)
  return { store, user, login, checks: () => checks }
}

const wrong = { password: 'wrong password' }

describe('checkLogin', () => {
  it('SECURITY.md 7: the right username and password are valid, and give the user', async () => {
    const { login, user } = await setup()
    expect(await login()).toEqual({ kind: 'valid', user: accountOf(user) })
  })

  it('SECURITY.md 7: an unknown username and a wrong password get the same answer, and both count', async () => {
    const { login, store } = await setup()
    expect(await login(wrong)).toEqual({ kind: 'invalid' })
    expect(await login({ username: 'mallory' })).toEqual({ kind: 'invalid' })
    // One row per account tried and one for the address.
    expect(store.rateLimits.size).toBe(3)
  })

  it('SECURITY.md 27: usernames are compared byte for byte', async () => {
    const { login } = await setup()
    expect(await login({ username: 'Alice' })).toEqual({ kind: 'invalid' })
  })

  it('SECURITY.md 27: with a provider that folds case, every spelling of a username counts against its one account', async () => {
    // A team's provider whose usernames are case-insensitive (e-mail addresses, say).
    const folding = (store: MemoryStore): AccountProvider => {
      const builtIn = new StoreAccounts(store)
      return {
        findById: (id) => builtIn.findById(id),
        findByUsername: (username) => builtIn.findByUsername(username.toLowerCase()),
        verifyPassword: (username, password, now) => builtIn.verifyPassword(username.toLowerCase(), password, now),
        claims: (account) => builtIn.claims(account),
      }
    }
    const { login } = await setup(undefined, folding)
    const from = (i: number) => ({ ip: `198.51.100.${i}` })
    expect(await login({ ...wrong, ...from(1), username: 'ALICE' })).toEqual({ kind: 'invalid' })
    expect(await login({ ...wrong, ...from(2), username: 'Alice' })).toEqual({ kind: 'invalid' })
    expect(await login({ ...from(3), username: 'alicE' })).toEqual({ kind: 'throttled', retryAfter: 15 })
    expect((await login({ ...from(4), username: 'AlIcE' }, NOW + 15)).kind).toBe('valid')
  })

  it('SECURITY.md 27: the attempt is reserved before the check: concurrent wrong passwords get at most loginPerAccount.max checks', async () => {
    const { login, checks } = await setup()
    const results = await Promise.all(Array.from({ length: 12 }, () => login(wrong)))
    expect(checks()).toBe(ACCOUNT.max)
    expect(results.filter((result) => result.kind === 'invalid')).toHaveLength(ACCOUNT.max)
    expect(results.filter((result) => result.kind === 'throttled')).toHaveLength(12 - ACCOUNT.max)
    expect(results.find((result) => result.kind === 'throttled')).toEqual({ kind: 'throttled', retryAfter: 15 })
  })

  it('SECURITY.md 27: while an account waits, no password is checked, not even the right one', async () => {
    const { login, checks } = await setup()
    for (let i = 0; i < ACCOUNT.max; i++) await login(wrong)
    expect(await login({}, NOW + 5)).toEqual({ kind: 'throttled', retryAfter: 10 })
    expect(checks()).toBe(ACCOUNT.max)
  })

  it('SECURITY.md 27: past the limit each attempt waits longer (progressive delays), never a lock: the owner gets in after the wait', async () => {
    const { login } = await setup()
    // From a new address each time, as a distributed guesser would: the account's own count slows them.
    let address = 0
    const from = () => ({ ip: `198.51.100.${address++}` })
    for (let i = 0; i < ACCOUNT.max; i++) await login({ ...wrong, ...from() })
    expect(await login({ ...wrong, ...from() }, NOW)).toEqual({ kind: 'throttled', retryAfter: 15 })
    expect(await login({ ...wrong, ...from() }, NOW + 15)).toEqual({ kind: 'invalid' })
    expect(await login({ ...wrong, ...from() }, NOW + 15)).toEqual({ kind: 'throttled', retryAfter: 30 })
    expect(await login(from(), NOW + 44)).toEqual({ kind: 'throttled', retryAfter: 1 })
    expect((await login(from(), NOW + 45)).kind).toBe('valid')
  })

  it('SECURITY.md 27: a success forgets the account’s failures', async () => {
    const { login } = await setup()
    for (let i = 0; i < ACCOUNT.max - 1; i++) await login({ ...wrong, ip: '198.51.100.1' })
    expect((await login({ ip: '198.51.100.1' })).kind).toBe('valid')
    for (let i = 0; i < ACCOUNT.max; i++) expect(await login({ ...wrong, ip: '198.51.100.2' })).toEqual({ kind: 'invalid' })
    expect(await login({ ip: '198.51.100.3' })).toEqual({ kind: 'throttled', retryAfter: 15 })
  })

  it('SECURITY.md 27: a success gives the address its attempt back', async () => {
    const { login } = await setup()
    for (let i = 0; i < IP.max - 1; i++) await login({ username: `user-${i}`, ...wrong })
    expect((await login()).kind).toBe('valid')
    expect(await login({ username: 'user-x', ...wrong })).toEqual({ kind: 'invalid' })
    expect(await login({ username: 'user-y', ...wrong })).toEqual({ kind: 'throttled', retryAfter: IP.window })
  })

  it('SECURITY.md 27: per address, a hard limit across every account', async () => {
    const { login } = await setup()
    for (let i = 0; i < IP.max; i++) expect(await login({ username: `user-${i}`, ...wrong })).toEqual({ kind: 'invalid' })
    expect(await login({ username: 'someone-else' })).toEqual({ kind: 'throttled', retryAfter: IP.window })
    expect((await login({}, NOW)).kind).toBe('throttled')
    // Another address is not held back.
    expect((await login({ ip: '198.51.100.1' })).kind).toBe('valid')
  })

  it('SECURITY.md 27: a browser where the account signed in before is counted apart: a stranger’s failures never keep the owner out', async () => {
    const { login } = await setup()
    for (let i = 0; i < ACCOUNT.max; i++) await login({ ...wrong, ip: `198.51.100.${i}` })
    expect((await login({ ip: '198.51.100.99' })).kind).toBe('throttled')
    expect((await login({ device: 'device-1' })).kind).toBe('valid')
  })

  it('SECURITY.md 27: failures in a vouched-for browser count against that browser only, with the same progressive delays', async () => {
    const { login, store } = await setup()
    for (let i = 0; i < ACCOUNT.max; i++) expect(await login({ ...wrong, device: 'device-1' })).toEqual({ kind: 'invalid' })
    expect(await login({ device: 'device-1' })).toEqual({ kind: 'throttled', retryAfter: 15 })
    expect(store.rateLimits.size).toBe(1)
    // Neither the account nor the address was charged, nor another browser of the same account.
    expect((await login()).kind).toBe('valid')
    expect((await login({ device: 'device-2' })).kind).toBe('valid')
  })

  it('SECURITY.md 7: a hash made with weaker parameters is replaced at the next successful sign-in', async () => {
    const salt = randomBytes(16)
    const weak = ['scrypt', 16384, 8, 1, salt.toString('base64url'), scryptSync(PASSWORD, salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64url')].join('$')
    expect(passwordNeedsRehash(weak)).toBe(true)
    const { login, store, user } = await setup(testUser({ passwordHash: weak }))

    expect(await login(wrong)).toEqual({ kind: 'invalid' })
    expect(store.users.get(user.id)?.passwordHash).toBe(weak)

    expect((await login({}, NOW + 100)).kind).toBe('valid')
    const upgraded = store.users.get(user.id)
    expect(upgraded?.passwordHash).not.toBe(weak)
    expect(passwordNeedsRehash(upgraded?.passwordHash ?? '')).toBe(false)
    expect(await verifyPassword(PASSWORD, upgraded?.passwordHash ?? '')).toBe(true)
    expect(upgraded?.updatedAt).toBe(NOW + 100)
  })

  it('SECURITY.md 7: a current hash is left alone', async () => {
    const { login, store, user } = await setup()
    await login()
    expect(store.users.get(user.id)).toEqual(user)
  })

  it.each([
    ['bcrypt', BCRYPT_REFERENCE],
    ['argon2id', ARGON2ID_REFERENCE],
  ])('issue #20: an imported %s hash signs its user in and is replaced by scrypt', async (_, imported) => {
    const { login, store, user } = await setup(testUser({ passwordHash: imported.hash }))
    expect(await login({ password: 'not it' })).toEqual({ kind: 'invalid' })
    expect(store.users.get(user.id)?.passwordHash).toBe(imported.hash)
    expect((await login({ password: imported.password }, NOW + 100)).kind).toBe('valid')
    const rehashed = store.users.get(user.id)?.passwordHash ?? ''
    expect(rehashed).toMatch(/^scrypt\$/)
    expect(passwordNeedsRehash(rehashed)).toBe(false)
    expect(await verifyPassword(imported.password, rehashed)).toBe(true)
  })

  it('issue #20: a disabled user is answered as an unknown one, even with the right password, and the attempt counts', async () => {
    const { login, store, user } = await setup()
    await store.disableUser(user.id, NOW)
    expect(await login()).toEqual({ kind: 'invalid' })
    expect(await login()).toEqual({ kind: 'invalid' })
    // Counted as failures: the account now waits, as after two wrong passwords.
    expect((await login()).kind).toBe('throttled')
    await store.enableUser(user.id)
    expect((await login({}, NOW + 900)).kind).toBe('valid')
  })
})
