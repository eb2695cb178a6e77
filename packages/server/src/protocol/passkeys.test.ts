/**
 * The passkey steps over the memory store with a fixed clock (no sockets): a software
 * authenticator (`test/passkey-authenticator.ts`) answers the options, and the tests bend what a
 * real one never bends. Over HTTP: `test/http/passkeys.test.ts`; in Chromium: `test/e2e/passkeys.test.ts`.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { SoftAuthenticator } from '../../test/passkey-authenticator.js'
import { NOW, testUser } from '../../test/protocol-fixtures.js'
import { StoreAccounts, type Account } from './accounts.js'
import { CHALLENGE_LIFETIME, addPasskey, additionOptions, passkeyName, relyingParty, signInOptions, verifyPasskeySignIn, type PasskeyDeps } from './passkeys.js'

const ISSUER = 'https://id.example.com/auth'
const ORIGIN = 'https://id.example.com'
const BROWSER = 'browser-hash-a'

let store: MemoryStore
let deps: PasskeyDeps
let account: Account

beforeEach(async () => {
  store = new MemoryStore()
  const user = testUser()
  await store.createUser(user)
  deps = { store, accounts: new StoreAccounts(store), passkeys: { rp: relyingParty(ISSUER, 'Example'), challengeKey: Buffer.alloc(32, 7) } }
  account = { id: user.id, username: user.username, disabled: false }
})

async function registered(authenticator = new SoftAuthenticator()): Promise<SoftAuthenticator> {
  const options = await additionOptions(deps, { account, displayName: 'Alice', sessionHash: 'session-1', now: NOW })
  const added = await addPasskey(deps, { account, sessionHash: 'session-1', credential: authenticator.register(options, ORIGIN), name: 'Laptop', now: NOW })
  expect(added.kind).toBe('added')
  return authenticator
}

const signIn = async (authenticator: SoftAuthenticator, at = NOW, browser = BROWSER, ceremony = {}) => {
  const options = await signInOptions(deps.passkeys, browser, at)
  return { options, credential: authenticator.assert(options, ORIGIN, ceremony) }
}

describe('relying party', () => {
  it('WebAuthn §5.4.2: the RP id is the issuer\'s host without port or path, the origin the issuer\'s', () => {
    expect(relyingParty('https://id.example.com:8443/auth', 'X')).toEqual({ id: 'id.example.com', origin: 'https://id.example.com:8443', name: 'X' })
  })
})

describe('adding a passkey (WebAuthn §7.1)', () => {
  it('keeps the credential with its COSE key, counter, device type and name; the user handle names no one', async () => {
    const options = await additionOptions(deps, { account, displayName: 'Alice', sessionHash: 'session-1', now: NOW })
    expect(options.user.id).not.toContain(account.id)
    expect(options.user.name).toBe(account.username)
    await registered(new SoftAuthenticator())
    const [passkey] = await store.listPasskeys(account.id)
    expect(passkey).toMatchObject({ name: 'Laptop', counter: 0, deviceType: 'singleDevice', backedUp: false, transports: ['internal'], createdAt: NOW, lastUsedAt: null })
    // The same credential again is a duplicate; the account's passkeys are excluded from the next options.
    const next = await additionOptions(deps, { account, displayName: 'Alice', sessionHash: 'session-1', now: NOW })
    expect(next.excludeCredentials?.map((credential) => credential.id)).toEqual([passkey?.credentialId])
  })

  it('a challenge is bound to the account and its login session, and spent once', async () => {
    const authenticator = new SoftAuthenticator()
    const options = await additionOptions(deps, { account, displayName: 'Alice', sessionHash: 'session-1', now: NOW })
    const credential = authenticator.register(options, ORIGIN)
    expect(await addPasskey(deps, { account, sessionHash: 'session-2', credential, name: 'Laptop', now: NOW })).toEqual({ kind: 'refused', reason: 'bad_challenge' })
    expect(await addPasskey(deps, { account, sessionHash: 'session-1', credential, name: 'Laptop', now: NOW + CHALLENGE_LIFETIME })).toEqual({ kind: 'refused', reason: 'expired_challenge' })
    expect((await addPasskey(deps, { account, sessionHash: 'session-1', credential, name: 'Laptop', now: NOW })).kind).toBe('added')
    expect(await addPasskey(deps, { account, sessionHash: 'session-1', credential, name: 'Laptop', now: NOW })).toEqual({ kind: 'refused', reason: 'replayed' })
  })

  it('a name is trimmed, 1 to 64 characters, without control characters', () => {
    expect(passkeyName('  Work laptop ')).toBe('Work laptop')
    expect(passkeyName('')).toBeUndefined()
    expect(passkeyName('   ')).toBeUndefined()
    expect(passkeyName('x'.repeat(65))).toBeUndefined()
    expect(passkeyName('a\u0000b')).toBeUndefined()
    expect(passkeyName(undefined)).toBeUndefined()
  })
})

describe('signing in with a passkey (WebAuthn §7.2)', () => {
  it('signs the account in with amr hwk + user, records the counter and the use', async () => {
    const authenticator = await registered()
    const { credential } = await signIn(authenticator, NOW + 10)
    expect(await verifyPasskeySignIn(deps, { credential, browserHash: BROWSER, now: NOW + 10 })).toEqual({ kind: 'valid', user: expect.objectContaining({ id: account.id }), amr: ['hwk', 'user'] })
    expect((await store.listPasskeys(account.id))[0]).toMatchObject({ counter: 1, lastUsedAt: NOW + 10 })
  })

  it('refuses a challenge of another browser, an expired one, one spent already, a counter that does not go up', async () => {
    const authenticator = await registered()
    const other = await signIn(authenticator, NOW, 'browser-hash-b')
    expect(await verifyPasskeySignIn(deps, { credential: other.credential, browserHash: BROWSER, now: NOW })).toMatchObject({ kind: 'refused', reason: 'bad_challenge' })
    const late = await signIn(authenticator)
    expect(await verifyPasskeySignIn(deps, { credential: late.credential, browserHash: BROWSER, now: NOW + CHALLENGE_LIFETIME })).toMatchObject({ kind: 'refused', reason: 'expired_challenge' })
    const once = await signIn(authenticator)
    expect((await verifyPasskeySignIn(deps, { credential: once.credential, browserHash: BROWSER, now: NOW })).kind).toBe('valid')
    expect(await verifyPasskeySignIn(deps, { credential: once.credential, browserHash: BROWSER, now: NOW })).toMatchObject({ kind: 'refused', reason: 'replayed', userId: account.id })
    authenticator.counter = 0
    const clone = await signIn(authenticator)
    expect(await verifyPasskeySignIn(deps, { credential: clone.credential, browserHash: BROWSER, now: NOW })).toMatchObject({ kind: 'refused', reason: 'counter' })
  })

  it('refuses a disabled account\'s passkey, and a user handle that is not the passkey\'s account\'s', async () => {
    const authenticator = await registered()
    authenticator.userHandle = 'c29tZW9uZS1lbHNl'
    const forged = await signIn(authenticator)
    expect(await verifyPasskeySignIn(deps, { credential: forged.credential, browserHash: BROWSER, now: NOW })).toMatchObject({ kind: 'refused', reason: 'not_verified' })
    await store.disableUser(account.id, NOW)
    const disabled = await signIn(authenticator)
    expect(await verifyPasskeySignIn(deps, { credential: disabled.credential, browserHash: BROWSER, now: NOW })).toMatchObject({ kind: 'refused', reason: 'account_unusable', userId: account.id })
  })

  it('never throws for bad input: it is malformed', async () => {
    for (const credential of [undefined, '', 'x'.repeat(70_000), '{"id":1}', '{"id":"a","response":{"clientDataJSON":"!!"}}', '{"id":"a","response":{"clientDataJSON":"e30"}}']) {
      expect(await verifyPasskeySignIn(deps, { credential, browserHash: BROWSER, now: NOW })).toMatchObject({ kind: 'refused', reason: 'malformed' })
    }
  })
})
