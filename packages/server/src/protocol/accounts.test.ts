import { beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { NOW, testUser } from '../../test/protocol-fixtures.js'
import { hashPassword, passwordHashProblem, verifyPassword } from '../tokens/secrets.js'
import {
  MIRROR_PASSWORD_HASH,
  StoreAccounts,
  accountStillLive,
  displayName,
  keepsOwnRows,
  liveAccount,
  mirrorAccount,
  passwordProblem,
  PASSWORD_LENGTH,
  type Account,
  type AccountProvider,
} from './accounts.js'

const PASSWORD = 'correct horse battery staple'
let passwordHash: string
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD)
})

/** Another provider's accounts, kept in a map the test changes behind the server's back. */
function directory(): AccountProvider & { people: Map<string, Account> } {
  const people = new Map<string, Account>()
  return {
    people,
    findById: async (id) => people.get(id),
    findByUsername: async (username) => [...people.values()].find((account) => account.username === username),
    verifyPassword: async (username, password) => (password === PASSWORD ? [...people.values()].find((account) => account.username === username) : undefined),
    claims: async () => ({ name: 'From The Directory' }),
  }
}

describe('passwordProblem: the rule of every new password', () => {
  it('8 to 1,024 characters', () => {
    expect(passwordProblem('x'.repeat(PASSWORD_LENGTH.min - 1))).toBe('too_short')
    expect(passwordProblem('x'.repeat(PASSWORD_LENGTH.min))).toBeUndefined()
    expect(passwordProblem('x'.repeat(PASSWORD_LENGTH.max))).toBeUndefined()
    expect(passwordProblem('x'.repeat(PASSWORD_LENGTH.max + 1))).toBe('too_long')
  })
})

describe('StoreAccounts, the built-in provider', () => {
  it('finds a user by id and by username (byte for byte), as an account', async () => {
    const store = new MemoryStore()
    const user = testUser({ passwordHash })
    await store.createUser(user)
    const accounts = new StoreAccounts(store)
    expect(await accounts.findById(user.id)).toEqual({ id: user.id, username: 'alice', disabled: false })
    expect(await accounts.findByUsername('alice')).toEqual({ id: user.id, username: 'alice', disabled: false })
    expect(await accounts.findByUsername('Alice')).toBeUndefined()
    expect(await accounts.findById('nobody')).toBeUndefined()
    await store.disableUser(user.id, NOW)
    expect(await accounts.findById(user.id)).toMatchObject({ disabled: true })
  })

  it('SECURITY.md 7: verifies the password; a wrong one, an unknown user and a mirror row (no usable hash) give nothing', async () => {
    const store = new MemoryStore()
    const user = testUser({ passwordHash })
    await store.createUser(user)
    await store.mirrorAccount({ id: 'ext-1', username: 'mirrored', passwordHash: MIRROR_PASSWORD_HASH }, NOW)
    const accounts = new StoreAccounts(store)
    expect(await accounts.verifyPassword('alice', PASSWORD, NOW)).toEqual({ id: user.id, username: 'alice', disabled: false })
    expect(await accounts.verifyPassword('alice', 'wrong', NOW)).toBeUndefined()
    expect(await accounts.verifyPassword('nobody', PASSWORD, NOW)).toBeUndefined()
    for (const password of [PASSWORD, MIRROR_PASSWORD_HASH, '']) expect(await accounts.verifyPassword('mirrored', password, NOW)).toBeUndefined()
  })

  it('OIDC Core §5.1: the claims are the row\'s profile, without the absent ones', async () => {
    const store = new MemoryStore()
    const full = testUser({ passwordHash, updatedAt: NOW - 5 })
    const bare = testUser({ username: 'bob', name: null, email: null, emailVerified: false })
    await store.createUser(full)
    await store.createUser(bare)
    const accounts = new StoreAccounts(store)
    const alice = await accounts.findById(full.id)
    expect(await accounts.claims(alice as Account)).toEqual({ preferred_username: 'alice', name: 'Alice Example', email: 'alice@example.com', email_verified: true, updated_at: NOW - 5 })
    // An account not read through this provider is looked up.
    expect(await accounts.claims({ id: bare.id, username: 'bob', disabled: false })).toEqual({ preferred_username: 'bob', updated_at: bare.updatedAt })
    expect(await displayName(accounts, alice as Account)).toBe('Alice Example')
    expect(await displayName(accounts, { id: bare.id, username: 'bob', disabled: false })).toBe('bob')
  })

  it('keeps its own rows: nothing is mirrored, and a live record\'s row is the account', async () => {
    const store = new MemoryStore()
    const user = testUser({ passwordHash })
    await store.createUser(user)
    const deps = { accounts: new StoreAccounts(store), store }
    expect(keepsOwnRows(deps.accounts)).toBe(true)
    await mirrorAccount(deps, { id: user.id, username: 'renamed', disabled: false }, NOW)
    expect(await store.getUserById(user.id)).toEqual(user)
    expect(await accountStillLive(deps, user, NOW)).toBe(true)
    expect(await accountStillLive(deps, { ...user, disabledAt: NOW }, NOW)).toBe(false)
    // A disabled built-in user is not live, and nothing else changes.
    await store.disableUser(user.id, NOW)
    expect(await liveAccount(deps, user.id, NOW)).toBeUndefined()
  })
})

describe('another provider\'s accounts and their mirrors', () => {
  async function world() {
    const store = new MemoryStore()
    const accounts = directory()
    const account: Account = { id: 'emp-1', username: 'pat', disabled: false }
    accounts.people.set(account.id, account)
    const deps = { accounts, store }
    await mirrorAccount(deps, account, NOW)
    await store.createLoginSession({ idHash: 's1', userId: account.id, authTime: NOW, createdAt: NOW, expiresAt: NOW + 3600, browserHash: 'b1' })
    return { store, accounts, account, deps }
  }

  it('a sign-in makes the mirror: id, username, a hash no password matches, no profile', async () => {
    const { store, account } = await world()
    expect(await store.getUserById(account.id)).toEqual({
      id: 'emp-1',
      username: 'pat',
      passwordHash: MIRROR_PASSWORD_HASH,
      name: null,
      email: null,
      emailVerified: false,
      createdAt: NOW,
      updatedAt: NOW,
      disabledAt: null,
    })
    // Not a hash of any scheme: no password matches it, not even its own text.
    expect(passwordHashProblem(MIRROR_PASSWORD_HASH)).toEqual(expect.any(String))
    expect(await verifyPassword(MIRROR_PASSWORD_HASH, MIRROR_PASSWORD_HASH)).toBe(false)
  })

  it('liveAccount asks the provider each time; a disabled account\'s mirror is disabled, which ends its sessions', async () => {
    const { store, accounts, account, deps } = await world()
    expect(await liveAccount(deps, account.id, NOW)).toEqual(account)
    accounts.people.set(account.id, { ...account, disabled: true })
    expect(await liveAccount(deps, account.id, NOW + 1)).toBeUndefined()
    expect((await store.getUserById(account.id))?.disabledAt).toBe(NOW + 1)
    expect(await store.getLoginSession('s1', NOW + 1)).toBeUndefined()
  })

  it('accountStillLive: a removed account is not live, and its mirror is disabled; a disabled mirror is not live without asking', async () => {
    const { store, accounts, account, deps } = await world()
    const row = await store.getUserById(account.id)
    if (row === undefined) throw new Error('no mirror')
    expect(await accountStillLive(deps, row, NOW)).toBe(true)
    expect(await accountStillLive(deps, account.id, NOW)).toBe(true)
    accounts.people.delete(account.id)
    expect(await accountStillLive(deps, account.id, NOW + 2)).toBe(false)
    expect((await store.getUserById(account.id))?.disabledAt).toBe(NOW + 2)
    // Back in the directory, the disabled mirror still refuses until the next sign-in enables it.
    accounts.people.set(account.id, account)
    expect(await accountStillLive(deps, { ...row, disabledAt: NOW + 2 }, NOW + 3)).toBe(false)
    await mirrorAccount(deps, account, NOW + 4)
    expect((await store.getUserById(account.id))?.disabledAt).toBeNull()
  })
})
