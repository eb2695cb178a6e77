/**
 * The `Store` contract (`protocol/store.ts`) as one suite that every backend runs unchanged:
 * `storeSuite('sqlite', open)` (`SqliteStore`) and `storeSuite('sql over sqlite', open)` (plain
 * `SqlStore`, so the methods `SqliteStore` overrides run too) in `sqlite.test.ts`, PostgreSQL
 * likewise in `postgres.test.ts`.
 *
 * `open` must return a store over an empty database migrated to the latest schema; each test opens
 * its own and closes it. Times are fixed numbers: nothing sleeps.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DuplicateError,
  type AccessTokenRecord,
  type AdminTokenRecord,
  type RegistrationTokenRecord,
  type ClientRecord,
  type CodeRecord,
  type GrantRecord,
  type InteractionRecord,
  type IssuedTokens,
  type PasskeyRecord,
  type PushedRequestRecord,
  type RefreshTokenRecord,
  type SigningKeyRecord,
  type Store,
  type UserRecord,
} from '../protocol/store.js'

export const NOW = 1_700_000_000
const MINUTE = 60
const HOUR = 3600
const DAY = 86_400

export function client(clientId: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId,
    name: `Client ${clientId}`,
    secretHash: 'scrypt$secret-hash',
    redirectUris: ['https://app.example/callback', 'https://app.example/cb?x="a b"&y=é'],
    scopes: ['openid', 'profile', 'email'],
    grantTypes: ['authorization_code', 'refresh_token'],
    idTokenSignedResponseAlg: 'ES256',
    pkceOptional: false,
    firstParty: true,
    postLogoutRedirectUris: [],
    backchannelLogoutUri: null,
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    tokenEndpointAuthMethod: 'client_secret_basic',
    jwks: null,
    jwksUri: null,
    requirePushedAuthorizationRequests: false,
    dpopBoundAccessTokens: false,
    webOrigins: [],
    registeredDynamically: false,
    registrationAccessTokenHash: null,
    createdAt: NOW,
    ...overrides,
  }
}

export function user(id: string, username: string): UserRecord {
  return {
    id,
    username,
    passwordHash: 'scrypt$password-hash',
    name: 'Alice Liddell',
    email: `${username}@example.com`,
    emailVerified: true,
    createdAt: NOW,
    updatedAt: NOW + 1,
    disabledAt: null,
  }
}

function interaction(id: string, overrides: Partial<InteractionRecord> = {}): InteractionRecord {
  return {
    id,
    clientId: 'c1',
    request: '{"client_id":"c1","scope":"openid"}',
    state: 'created',
    csrfToken: `csrf-${id}`,
    browserHash: `browser-${id}`,
    userId: null,
    authTime: null,
    sessionHash: null,
    createdAt: NOW,
    expiresAt: NOW + 10 * MINUTE,
    ...overrides,
  }
}

export function grant(id: string, overrides: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id,
    clientId: 'c1',
    userId: 'u1',
    scopes: ['openid', 'profile'],
    authTime: NOW - 5,
    createdAt: NOW,
    revokedAt: null,
    ...overrides,
  }
}

export function code(codeHash: string, grantId: string, overrides: Partial<CodeRecord> = {}): CodeRecord {
  return {
    codeHash,
    grantId,
    clientId: 'c1',
    userId: 'u1',
    redirectUri: 'https://app.example/callback',
    redirectUriSent: true,
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    nonce: 'n-0S6_WzA2Mj',
    scopes: ['openid', 'profile'],
    authTime: NOW - 5,
    createdAt: NOW,
    expiresAt: NOW + MINUTE,
    consumedAt: null,
    dpopJkt: null,
    ...overrides,
  }
}

function accessToken(jti: string, grantId: string, overrides: Partial<AccessTokenRecord> = {}): AccessTokenRecord {
  return {
    jti,
    grantId,
    clientId: 'c1',
    userId: 'u1',
    scopes: ['openid', 'profile'],
    createdAt: NOW,
    expiresAt: NOW + HOUR,
    revokedAt: null,
    ...overrides,
  }
}

function refreshToken(tokenHash: string, grantId: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash,
    grantId,
    clientId: 'c1',
    userId: 'u1',
    scopes: ['openid', 'profile'],
    createdAt: NOW,
    expiresAt: NOW + DAY,
    rotatedAt: null,
    dpopJkt: null,
    ...overrides,
  }
}

export function tokens(jti: string, grantId: string, refreshHash: string | null): IssuedTokens {
  return {
    accessToken: accessToken(jti, grantId),
    refreshToken: refreshHash === null ? null : refreshToken(refreshHash, grantId),
  }
}

function signingKey(kid: string, createdAt: number): SigningKeyRecord {
  return {
    kid,
    alg: 'EdDSA',
    publicJwk: `{"kty":"OKP","crv":"Ed25519","x":"${kid}"}`,
    privateKeyEncrypted: `encrypted-${kid}`,
    createdAt,
    activatesAt: createdAt + HOUR,
    retiredAt: null,
  }
}

export function pushedRequest(uriHash: string, overrides: Partial<PushedRequestRecord> = {}): PushedRequestRecord {
  return {
    uriHash,
    clientId: 'c1',
    params: [['response_type', 'code'], ['client_id', 'c1']],
    createdAt: NOW,
    expiresAt: NOW + MINUTE,
    ...overrides,
  }
}

export function storeSuite(dialect: string, open: () => Promise<Store>): void {
  describe(`Store contract (${dialect})`, () => {
    let store: Store

    beforeEach(async () => {
      store = await open()
    })

    afterEach(async () => {
      await store.close()
    })

    /** Client c1, user u1, and a grant with code `code-<id>` for each id. */
    async function seed(...grantIds: string[]): Promise<void> {
      await store.createClient(client('c1'))
      await store.createUser(user('u1', 'alice'))
      for (const id of grantIds) {
        await store.createGrantWithCode(grant(id), code(`code-${id}`, id))
      }
    }

    it('ping answers', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
    })

    describe('clients', () => {
      it('stores and reads back every field, including redirect URIs with spaces and quotes', async () => {
        const c1 = client('c1')
        const c2 = client('c2', { secretHash: null, pkceOptional: true, firstParty: false, createdAt: NOW + 1 })
        await store.createClient(c2)
        await store.createClient(c1)
        expect(await store.getClient('c1')).toEqual(c1)
        expect(await store.getClient('c2')).toEqual(c2)
        expect(await store.getClient('c3')).toBeUndefined()
        expect(await store.listClients()).toEqual([c1, c2])
      })

      it('throws DuplicateError on an existing client id', async () => {
        await store.createClient(client('c1'))
        await expect(store.createClient(client('c1', { name: 'other' }))).rejects.toBeInstanceOf(DuplicateError)
        expect((await store.getClient('c1'))?.name).toBe('Client c1')
      })

      it('deleteClient is false for an unknown client', async () => {
        expect(await store.deleteClient('nope')).toBe(false)
      })

      it('deleteClient removes everything issued to the client, and nothing of other clients', async () => {
        await seed('g1')
        await store.createClient(client('c2'))
        await store.createGrantWithCode(grant('g2', { clientId: 'c2' }), code('code-g2', 'g2', { clientId: 'c2' }))
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.saveConsent('u1', 'c1', ['openid'], NOW)
        await store.createInteraction(interaction('i1'))

        expect(await store.deleteClient('c1')).toBe(true)

        expect(await store.getClient('c1')).toBeUndefined()
        expect(await store.getGrant('g1')).toBeUndefined()
        expect(await store.getCode('code-g1')).toBeUndefined()
        expect(await store.getAccessToken('at1')).toBeUndefined()
        expect(await store.getRefreshToken('rt1')).toBeUndefined()
        expect(await store.getConsent('u1', 'c1')).toBeUndefined()
        expect(await store.getInteraction('i1', NOW)).toBeUndefined()
        expect(await store.getUserById('u1')).toBeDefined()
        expect(await store.getGrant('g2')).toBeDefined()
        expect(await store.getCode('code-g2')).toBeDefined()
        expect(await store.deleteClient('c1')).toBe(false)
      })

      it('stores post-logout redirect URIs and a previous secret with its end', async () => {
        const c1 = client('c1', { postLogoutRedirectUris: ['https://app.example/bye'], previousSecretHash: 'old', previousSecretExpiresAt: NOW + MINUTE })
        await store.createClient(c1)
        expect(await store.getClient('c1')).toEqual(c1)
      })

      it('updateClient changes only the fields given and is undefined for an unknown client', async () => {
        await store.createClient(client('c1'))
        const renamed = await store.updateClient('c1', { name: 'Renamed', postLogoutRedirectUris: ['https://app.example/bye'] })
        expect(renamed).toEqual({ ...client('c1'), name: 'Renamed', postLogoutRedirectUris: ['https://app.example/bye'] })
        expect(await store.getClient('c1')).toEqual(renamed)
        const rescoped = await store.updateClient('c1', { scopes: ['openid'], redirectUris: ['https://new.example/cb'] })
        expect(rescoped).toMatchObject({ name: 'Renamed', scopes: ['openid'], redirectUris: ['https://new.example/cb'] })
        expect(await store.updateClient('c1', {})).toEqual(rescoped)
        expect(await store.updateClient('nope', { name: 'x' })).toBeUndefined()
      })

      it('stores a public client\'s web origins, and updateClient replaces the list', async () => {
        const spa = client('spa', { secretHash: null, tokenEndpointAuthMethod: 'none', webOrigins: ['https://spa.example', 'http://localhost:8090'] })
        await store.createClient(spa)
        expect(await store.getClient('spa')).toEqual(spa)
        expect(await store.updateClient('spa', { webOrigins: ['https://other.example:8443'] })).toEqual({ ...spa, webOrigins: ['https://other.example:8443'] })
        expect(await store.updateClient('spa', { name: 'Renamed' })).toMatchObject({ webOrigins: ['https://other.example:8443'] })
        expect((await store.updateClient('spa', { webOrigins: [] }))?.webOrigins).toEqual([])
        expect((await store.listClients()).find((c) => c.clientId === 'spa')?.webOrigins).toEqual([])
      })

      it('stores a dynamically registered client (RFC 7591) with its registration access token hash; updateClient replaces what RFC 7592 §2.2 replaces', async () => {
        const mcp = client('mcp', { secretHash: null, tokenEndpointAuthMethod: 'none', registeredDynamically: true, registrationAccessTokenHash: 'rat-hash' })
        await store.createClient(mcp)
        expect(await store.getClient('mcp')).toEqual(mcp)
        expect((await store.listClients()).find((c) => c.clientId === 'mcp')).toEqual(mcp)
        const replaced = { grantTypes: ['authorization_code' as const], idTokenSignedResponseAlg: 'ES256' as const, requirePushedAuthorizationRequests: true, dpopBoundAccessTokens: true }
        expect(await store.updateClient('mcp', replaced)).toEqual({ ...mcp, ...replaced })
        const confidential = client('conf', { registeredDynamically: true, registrationAccessTokenHash: 'rat-2' })
        await store.createClient(confidential)
        expect(await store.updateClient('conf', { tokenEndpointAuthMethod: 'client_secret_post' })).toEqual({ ...confidential, tokenEndpointAuthMethod: 'client_secret_post' })
        expect(await store.getClient('conf')).toMatchObject({ registeredDynamically: true, registrationAccessTokenHash: 'rat-2', tokenEndpointAuthMethod: 'client_secret_post' })
      })

      it('counts the clients that registered themselves, not the operator\'s', async () => {
        expect(await store.countDynamicallyRegisteredClients()).toBe(0)
        await store.createClient(client('op'))
        await store.createClient(client('d1', { registeredDynamically: true, registrationAccessTokenHash: 'h1' }))
        await store.createClient(client('d2', { registeredDynamically: true, registrationAccessTokenHash: 'h2' }))
        expect(await store.countDynamicallyRegisteredClients()).toBe(2)
        await store.deleteClient('d1')
        expect(await store.countDynamicallyRegisteredClients()).toBe(1)
      })

      it('updateClient with new redirect URIs ends the interactions in progress and the unredeemed codes bound to a removed URI', async () => {
        await seed('g1', 'g2', 'g3')
        await store.createInteraction(interaction('i1'))
        await store.createGrantWithCode(grant('g4'), code('code-g4', 'g4', { redirectUri: 'https://app.example/kept' }))
        await store.redeemCode('code-g2', NOW, tokens('at2', 'g2', 'rt2'))
        await store.createClient(client('c2'))
        await store.createInteraction(interaction('i2', { clientId: 'c2' }))
        await store.createGrantWithCode(grant('g5', { clientId: 'c2' }), code('code-g5', 'g5', { clientId: 'c2' }))

        await store.updateClient('c1', { redirectUris: ['https://app.example/kept'] })

        expect(await store.getInteraction('i1', NOW)).toBeUndefined()
        expect(await store.getCode('code-g1')).toBeUndefined()
        expect(await store.getCode('code-g3')).toBeUndefined()
        // Kept: a code for a URI still registered, a redeemed code (a replay must still be recognised), other clients'.
        expect(await store.getCode('code-g4')).toBeDefined()
        expect((await store.getCode('code-g2'))?.consumedAt).toBe(NOW)
        expect(await store.getRefreshToken('rt2')).toBeDefined()
        expect(await store.getInteraction('i2', NOW)).toBeDefined()
        expect(await store.getCode('code-g5')).toBeDefined()

        // A change of anything else keeps them.
        await store.createInteraction(interaction('i3'))
        await store.updateClient('c1', { name: 'Other name', scopes: ['openid'] })
        expect(await store.getInteraction('i3', NOW)).toBeDefined()
        expect(await store.getCode('code-g4')).toBeDefined()
      })

      it('rotateClientSecret replaces the secret, keeps the old one only with an end, and refuses public or unknown clients', async () => {
        await store.createClient(client('c1', { secretHash: 'first' }))
        await store.createClient(client('pub', { secretHash: null }))
        expect(await store.rotateClientSecret('c1', 'second', NOW + MINUTE)).toBe(true)
        expect(await store.getClient('c1')).toMatchObject({ secretHash: 'second', previousSecretHash: 'first', previousSecretExpiresAt: NOW + MINUTE })
        expect(await store.rotateClientSecret('c1', 'third', null)).toBe(true)
        expect(await store.getClient('c1')).toMatchObject({ secretHash: 'third', previousSecretHash: null, previousSecretExpiresAt: null })
        expect(await store.rotateClientSecret('pub', 'x', null)).toBe(false)
        expect((await store.getClient('pub'))?.secretHash).toBeNull()
        expect(await store.rotateClientSecret('nope', 'x', null)).toBe(false)
      })
    })

    describe('users', () => {
      it('finds a user by id and by username', async () => {
        const alice = user('u1', 'alice')
        const bob = { ...user('u2', 'bob'), name: null, email: null, emailVerified: false }
        await store.createUser(alice)
        await store.createUser(bob)
        expect(await store.getUserById('u1')).toEqual(alice)
        expect(await store.getUserByUsername('bob')).toEqual(bob)
        expect(await store.getUserById('u3')).toBeUndefined()
        expect(await store.getUserByUsername('carol')).toBeUndefined()
      })

      it('compares usernames byte for byte', async () => {
        await store.createUser(user('u1', 'Alice'))
        expect(await store.getUserByUsername('alice')).toBeUndefined()
        expect((await store.getUserByUsername('Alice'))?.id).toBe('u1')
      })

      it('updatePasswordHash replaces the hash only while it is still the one expected', async () => {
        await store.createUser(user('u1', 'alice'))
        const old = (await store.getUserById('u1'))?.passwordHash ?? ''
        expect(await store.updatePasswordHash('u1', 'not the hash', 'new', NOW + 1)).toBe(false)
        expect(await store.updatePasswordHash('u1', old, 'new', NOW + 1)).toBe(true)
        expect(await store.getUserById('u1')).toMatchObject({ passwordHash: 'new', updatedAt: NOW + 1 })
        expect(await store.updatePasswordHash('u1', old, 'newer', NOW + 2)).toBe(false)
      })

      it('throws DuplicateError when the username is taken', async () => {
        await store.createUser(user('u1', 'alice'))
        await expect(store.createUser(user('u2', 'alice'))).rejects.toBeInstanceOf(DuplicateError)
        expect(await store.getUserById('u2')).toBeUndefined()
      })

      it('throws DuplicateError when the id is taken', async () => {
        await store.createUser(user('u1', 'alice'))
        await expect(store.createUser(user('u1', 'bob'))).rejects.toBeInstanceOf(DuplicateError)
      })

      it('listUsers lists every user in byte order of the username, by pages', async () => {
        for (const [id, name] of [['u1', 'carol'], ['u2', 'Bob'], ['u3', 'alice'], ['u4', 'bob'], ['u5', 'Zoe']] as const) await store.createUser(user(id, name))
        await store.disableUser('u4', NOW)
        const names = (users: { username: string }[]) => users.map((u) => u.username)
        expect(names(await store.listUsers())).toEqual(['Bob', 'Zoe', 'alice', 'bob', 'carol'])
        expect(names(await store.listUsers({ limit: 2 }))).toEqual(['Bob', 'Zoe'])
        expect(names(await store.listUsers({ after: 'Zoe', limit: 2 }))).toEqual(['alice', 'bob'])
        expect(names(await store.listUsers({ after: 'bob' }))).toEqual(['carol'])
        expect(await store.listUsers({ after: 'carol' })).toEqual([])
        expect((await store.listUsers({ after: 'alice', limit: 1 }))[0]).toEqual({ ...user('u4', 'bob'), disabledAt: NOW })
      })

      it('updateUser changes the fields given, sets updatedAt, and is undefined for an unknown user', async () => {
        await store.createUser(user('u1', 'alice'))
        const updated = await store.updateUser('u1', { name: null, email: 'new@example.com', emailVerified: false }, NOW + 5)
        expect(updated).toEqual({ ...user('u1', 'alice'), name: null, email: 'new@example.com', emailVerified: false, updatedAt: NOW + 5 })
        expect(await store.getUserById('u1')).toEqual(updated)
        expect(await store.updateUser('u1', { name: 'Alice' }, NOW + 6)).toMatchObject({ name: 'Alice', email: 'new@example.com', updatedAt: NOW + 6 })
        expect(await store.updateUser('nope', { name: 'x' }, NOW)).toBeUndefined()
      })

      const session = (idHash: string, userId: string) => ({ idHash, userId, authTime: NOW, createdAt: NOW, expiresAt: NOW + HOUR, browserHash: `b-${idHash}` })

      it('setPassword replaces the hash whatever it was and ends every other session of the user', async () => {
        await store.createUser(user('u1', 'alice'))
        await store.createUser(user('u2', 'bob'))
        for (const [id, owner] of [['s1', 'u1'], ['s2', 'u1'], ['s3', 'u1'], ['s4', 'u2']] as const) await store.createLoginSession(session(id, owner))
        expect(await store.setPassword('u1', 'scrypt$new', NOW + 9, 's2')).toBe(true)
        expect(await store.getUserById('u1')).toMatchObject({ passwordHash: 'scrypt$new', updatedAt: NOW + 9 })
        expect(await store.getLoginSession('s1', NOW)).toBeUndefined()
        expect(await store.getLoginSession('s2', NOW)).toBeDefined()
        expect(await store.getLoginSession('s3', NOW)).toBeUndefined()
        expect(await store.getLoginSession('s4', NOW)).toBeDefined()
        expect(await store.setPassword('u1', 'scrypt$newer', NOW + 10)).toBe(true)
        expect(await store.getLoginSession('s2', NOW)).toBeUndefined()
        expect(await store.setPassword('nope', 'x', NOW)).toBe(false)
      })

      it('disableUser marks the user, ends every session and revokes every grant of the user, and nothing of others', async () => {
        await seed('g1', 'g2')
        await store.createUser(user('u2', 'bob'))
        await store.createGrantWithCode(grant('g3', { userId: 'u2' }), code('code-g3', 'g3', { userId: 'u2' }))
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.createLoginSession(session('s1', 'u1'))
        await store.createLoginSession(session('s2', 'u2'))

        expect(await store.disableUser('u1', NOW + 1)).toBe(true)

        expect((await store.getUserById('u1'))?.disabledAt).toBe(NOW + 1)
        expect(await store.getLoginSession('s1', NOW)).toBeUndefined()
        expect((await store.getGrant('g1'))?.revokedAt).toBe(NOW + 1)
        expect((await store.getGrant('g2'))?.revokedAt).toBe(NOW + 1)
        expect((await store.getAccessToken('at1'))?.revokedAt).toBe(NOW + 1)
        expect(await store.rotateRefreshToken('rt1', NOW + 2, tokens('at9', 'g1', 'rt9'))).toBe(false)
        expect(await store.redeemCode('code-g2', NOW + 2, tokens('at8', 'g2', null))).toBe(false)
        // Bob is untouched.
        expect((await store.getUserById('u2'))?.disabledAt).toBeNull()
        expect(await store.getLoginSession('s2', NOW)).toBeDefined()
        expect((await store.getGrant('g3'))?.revokedAt).toBeNull()

        // Again: the first time stays; an unknown user is false.
        expect(await store.disableUser('u1', NOW + 50)).toBe(true)
        expect((await store.getUserById('u1'))?.disabledAt).toBe(NOW + 1)
        expect(await store.disableUser('nope', NOW)).toBe(false)
      })

      it('a session of a disabled user is not returned, and comes back with enableUser', async () => {
        await store.createUser(user('u1', 'alice'))
        await store.disableUser('u1', NOW)
        // A sign-in that raced the disabling and created its session after it.
        await store.createLoginSession(session('s1', 'u1'))
        expect(await store.getLoginSession('s1', NOW)).toBeUndefined()
        expect(await store.enableUser('u1')).toBe(true)
        expect((await store.getUserById('u1'))?.disabledAt).toBeNull()
        expect(await store.getLoginSession('s1', NOW)).toBeDefined()
        expect(await store.enableUser('nope')).toBe(false)
      })

      it('deleteUser removes the user and everything of the user, nothing of others', async () => {
        await seed('g1', 'g2')
        await store.createUser(user('u2', 'bob'))
        await store.createGrantWithCode(grant('g3', { userId: 'u2' }), code('code-g3', 'g3', { userId: 'u2' }))
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.saveConsent('u1', 'c1', ['openid'], NOW)
        await store.createLoginSession(session('s1', 'u1'))
        await store.createInteraction(interaction('i1', { userId: 'u1', state: 'authenticated' }))

        expect(await store.deleteUser('u1', NOW)).toBe(true)

        expect(await store.getUserById('u1')).toBeUndefined()
        expect(await store.getUserByUsername('alice')).toBeUndefined()
        expect(await store.getLoginSession('s1', NOW)).toBeUndefined()
        expect(await store.getInteraction('i1', NOW)).toBeUndefined()
        expect(await store.getConsent('u1', 'c1')).toBeUndefined()
        expect(await store.getGrant('g1')).toBeUndefined()
        expect(await store.getCode('code-g2')).toBeUndefined()
        expect(await store.getAccessToken('at1')).toBeUndefined()
        expect(await store.getRefreshToken('rt1')).toBeUndefined()
        expect(await store.getGrant('g3')).toBeDefined()
        expect(await store.getClient('c1')).toBeDefined()
        expect(await store.deleteUser('u1', NOW)).toBe(false)
      })

      it('importUsers inserts every user, or none when one id or username is taken', async () => {
        await store.createUser(user('u1', 'alice'))
        const many = Array.from({ length: 1200 }, (_, i) => user(`imported-${i}`, `user${String(i).padStart(4, '0')}`))
        await expect(store.importUsers([...many.slice(0, 700), user('u9', 'alice'), ...many.slice(700)])).rejects.toBeInstanceOf(DuplicateError)
        expect(await store.listUsers()).toHaveLength(1)
        await expect(store.importUsers([user('u2', 'bob'), user('u3', 'bob')])).rejects.toBeInstanceOf(DuplicateError)
        expect(await store.getUserByUsername('bob')).toBeUndefined()
        await store.importUsers(many)
        expect(await store.listUsers()).toHaveLength(1201)
        expect(await store.getUserByUsername('user1199')).toEqual(many[1199])
        await store.importUsers([])
      })

      it('mirrorAccount makes the row of another provider\'s account once, then brings its username up to date and enables it', async () => {
        await store.mirrorAccount({ id: 'ext-1', username: 'alice', passwordHash: '!mirror' }, NOW)
        const mirror = { id: 'ext-1', username: 'alice', passwordHash: '!mirror', name: null, email: null, emailVerified: false, createdAt: NOW, updatedAt: NOW, disabledAt: null }
        expect(await store.getUserById('ext-1')).toEqual(mirror)
        // Two first sign-ins at once: one row.
        await Promise.all([store.mirrorAccount({ id: 'ext-2', username: 'bob', passwordHash: '!mirror' }, NOW), store.mirrorAccount({ id: 'ext-2', username: 'bob', passwordHash: '!mirror' }, NOW)])
        expect((await store.listUsers()).map((u) => u.id)).toEqual(['ext-1', 'ext-2'])

        await store.createLoginSession({ idHash: 's1', userId: 'ext-1', authTime: NOW, createdAt: NOW, expiresAt: NOW + HOUR, browserHash: null })
        await store.disableUser('ext-1', NOW + 1)
        await store.mirrorAccount({ id: 'ext-1', username: 'alice2', passwordHash: '!mirror' }, NOW + 5)
        expect(await store.getUserById('ext-1')).toEqual({ ...mirror, username: 'alice2' })
        expect(await store.getUserByUsername('alice')).toBeUndefined()

        // A username now another account's: the row that held it gives it up, and keeps what hangs off it.
        await store.mirrorAccount({ id: 'ext-3', username: 'bob', passwordHash: '!mirror' }, NOW + 6)
        expect((await store.getUserByUsername('bob'))?.id).toBe('ext-3')
        expect(await store.getUserById('ext-2')).toMatchObject({ username: '~ext-2' })
      })
    })

    describe('login sessions', () => {
      it('returns a session until it expires, then undefined', async () => {
        await store.createUser(user('u1', 'alice'))
        const session = { idHash: 's1', userId: 'u1', authTime: NOW - 10, createdAt: NOW, expiresAt: NOW + HOUR, browserHash: 'b1' }
        await store.createLoginSession(session)
        expect(await store.getLoginSession('s1', NOW)).toEqual(session)
        expect(await store.getLoginSession('s1', NOW + HOUR - 1)).toEqual(session)
        expect(await store.getLoginSession('s1', NOW + HOUR)).toBeUndefined()
        expect(await store.getLoginSession('s2', NOW)).toBeUndefined()
      })

      const session = (idHash: string, browserHash: string | null) => ({ idHash, userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: NOW + HOUR, browserHash })

      it('deleteBrowserSessions removes the browser\'s sessions and the one named, no other', async () => {
        await store.createUser(user('u1', 'alice'))
        for (const [id, browser] of [['s1', 'b1'], ['s2', 'b1'], ['s3', null], ['s4', 'b2']] as const) await store.createLoginSession(session(id, browser))
        await store.deleteBrowserSessions('b1', 's3')
        expect(await store.getLoginSession('s1', NOW)).toBeUndefined()
        expect(await store.getLoginSession('s2', NOW)).toBeUndefined()
        expect(await store.getLoginSession('s3', NOW)).toBeUndefined()
        expect(await store.getLoginSession('s4', NOW)).toBeDefined()
        await expect(store.deleteBrowserSessions(undefined, undefined)).resolves.toBeUndefined()
        await store.deleteBrowserSessions(undefined, 's4')
        expect(await store.getLoginSession('s4', NOW)).toBeUndefined()
      })

      it('signOutBrowser removes the browser\'s sessions and every interaction it started, no other browser\'s', async () => {
        await seed()
        await store.createLoginSession(session('s1', 'b1'))
        await store.createLoginSession(session('s2', 'b2'))
        await store.createInteraction(interaction('i1', { browserHash: 'b1' }))
        await store.createInteraction(interaction('i2', { browserHash: 'b2' }))
        expect(await store.signOutBrowser('b1', undefined, NOW)).toEqual({ sessions: [{ userId: 'u1' }], logoutsQueued: 0, logoutsDropped: 0 })
        expect(await store.getLoginSession('s1', NOW)).toBeUndefined()
        expect(await store.getInteraction('i1', NOW)).toBeUndefined()
        expect(await store.getLoginSession('s2', NOW)).toBeDefined()
        expect(await store.getInteraction('i2', NOW)).toBeDefined()
      })

      it('listUserSessions lists the user\'s live sessions, the latest sign-in first, no other user\'s', async () => {
        await store.createUser(user('u1', 'alice'))
        await store.createUser(user('u2', 'bob'))
        const older = { ...session('s1', 'b1'), authTime: NOW - 100, createdAt: NOW - 100 }
        const newer = { ...session('s2', 'b2'), authTime: NOW - 10, createdAt: NOW - 10, sid: 'sid-2' }
        const expired = { ...session('s3', 'b3'), expiresAt: NOW }
        for (const s of [older, newer, expired, { ...session('s4', 'b4'), userId: 'u2' }]) await store.createLoginSession(s)
        expect(await store.listUserSessions('u1', NOW)).toEqual([newer, older])
        expect(await store.listUserSessions('u1', NOW + HOUR)).toEqual([])
        expect(await store.listUserSessions('nobody', NOW)).toEqual([])
      })

      it('signOutUser ends every session of the user but the one kept, in every browser, and no other user\'s', async () => {
        await store.createUser(user('u1', 'alice'))
        await store.createUser(user('u2', 'bob'))
        for (const s of [session('s1', 'b1'), session('s2', 'b2'), { ...session('s3', null), sid: 'sid-3' }, { ...session('s4', 'b1'), userId: 'u2' }]) {
          await store.createLoginSession(s)
        }
        expect(await store.signOutUser('u1', NOW, 's2')).toEqual({ sessions: expect.arrayContaining([{ userId: 'u1' }, { userId: 'u1', sid: 'sid-3' }]), logoutsQueued: 0, logoutsDropped: 0 })
        expect((await store.listUserSessions('u1', NOW)).map((s) => s.idHash)).toEqual(['s2'])
        expect(await store.getLoginSession('s4', NOW)).toBeDefined()
        expect((await store.signOutUser('u1', NOW)).sessions).toEqual([{ userId: 'u1' }])
        expect(await store.listUserSessions('u1', NOW)).toEqual([])
        expect(await store.signOutUser('u1', NOW)).toEqual({ sessions: [], logoutsQueued: 0, logoutsDropped: 0 })
      })
    })

    describe('back-channel logouts (OpenID Back-Channel Logout)', () => {
      const session = (idHash: string, sid: string, browserHash = `b-${idHash}`, userId = 'u1') => ({
        idHash,
        userId,
        authTime: NOW,
        createdAt: NOW,
        expiresAt: NOW + HOUR,
        browserHash,
        sid,
      })
      const BACKCHANNEL = 'https://app.example/backchannel-logout'

      /** c1 and c2 with a back-channel logout URI, c3 without; u1 signed in to all three in session sid-1 (browser b1), and to c1 in sid-2 (browser b2). */
      async function signedInEverywhere(): Promise<void> {
        await store.createUser(user('u1', 'alice'))
        await store.createClient(client('c1', { backchannelLogoutUri: BACKCHANNEL }))
        await store.createClient(client('c2', { name: 'A second app', backchannelLogoutUri: `${BACKCHANNEL}?app=2` }))
        await store.createClient(client('c3', { name: 'No back channel' }))
        await store.createLoginSession(session('s1', 'sid-1', 'b1'))
        await store.createLoginSession(session('s2', 'sid-2', 'b2'))
        for (const [id, clientId, sid] of [['g1', 'c1', 'sid-1'], ['g1b', 'c1', 'sid-1'], ['g2', 'c2', 'sid-1'], ['g3', 'c3', 'sid-1'], ['g4', 'c1', 'sid-2']] as const) {
          await store.createGrantWithCode(grant(id, { clientId, sid }), code(`code-${id}`, id, { clientId }))
        }
      }

      it('sessions and grants keep their sid; without one they have none', async () => {
        await seed()
        await store.createLoginSession(session('s1', 'sid-1'))
        await store.createLoginSession({ idHash: 's0', userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: NOW + HOUR, browserHash: null })
        await store.createGrantWithCode(grant('g1', { sid: 'sid-1' }), code('code-g1', 'g1'))
        await store.createGrantWithCode(grant('g0'), code('code-g0', 'g0'))
        expect(await store.getLoginSession('s1', NOW)).toEqual(session('s1', 'sid-1'))
        expect(await store.getLoginSession('s0', NOW)).not.toHaveProperty('sid')
        expect(await store.getGrant('g1')).toEqual(grant('g1', { sid: 'sid-1' }))
        expect((await store.getCodeWithGrant('code-g1'))?.grant).toEqual(grant('g1', { sid: 'sid-1' }))
        expect(await store.getGrant('g0')).not.toHaveProperty('sid')
      })

      it('listSignedInApps names the clients with a live grant made in the session, by name', async () => {
        await signedInEverywhere()
        expect(await store.listSignedInApps('sid-1')).toEqual([
          { clientId: 'c2', clientName: 'A second app' },
          { clientId: 'c1', clientName: 'Client c1' },
          { clientId: 'c3', clientName: 'No back channel' },
        ])
        await store.revokeConsent('u1', 'c2', NOW + 1)
        expect((await store.listSignedInApps('sid-1')).map((app) => app.clientId)).toEqual(['c1', 'c3'])
        expect(await store.listSignedInApps('sid-2')).toEqual([{ clientId: 'c1', clientName: 'Client c1' }])
        expect(await store.listSignedInApps('sid-none')).toEqual([])
      })

      it('signOutBrowser queues one delivery per client of the ended sessions that has a back-channel logout URI, once', async () => {
        await signedInEverywhere()
        expect(await store.signOutBrowser('b1', undefined, NOW + 5)).toEqual({ sessions: [{ userId: 'u1', sid: 'sid-1' }], logoutsQueued: 2, logoutsDropped: 0 })
        expect(await store.nextLogoutDeliveryAt()).toBe(NOW + 5)
        const claimed = await store.claimLogoutDeliveries(NOW + 5, 60, 10)
        expect(claimed.toSorted((a, b) => a.clientId.localeCompare(b.clientId))).toEqual([
          { sid: 'sid-1', clientId: 'c1', userId: 'u1', createdAt: NOW + 5, attempts: 1, nextAttemptAt: NOW + 65 },
          { sid: 'sid-1', clientId: 'c2', userId: 'u1', createdAt: NOW + 5, attempts: 1, nextAttemptAt: NOW + 65 },
        ])
        // The other browser's session and its delivery are untouched; the same session ending again queues nothing twice.
        expect(await store.getLoginSession('s2', NOW)).toBeDefined()
        await store.createLoginSession(session('s1-again', 'sid-1', 'b1'))
        expect(await store.signOutBrowser('b1', undefined, NOW + 6)).toMatchObject({ logoutsQueued: 0 })
      })

      it('setPassword and disableUser queue the deliveries of the sessions they end', async () => {
        await signedInEverywhere()
        expect(await store.setPassword('u1', 'scrypt$new', NOW + 1, 's2')).toBe(true)
        expect((await store.claimLogoutDeliveries(NOW + 1, 60, 10)).map((d) => [d.sid, d.clientId]).toSorted()).toEqual([['sid-1', 'c1'], ['sid-1', 'c2']])
        expect(await store.disableUser('u1', NOW + 2)).toBe(true)
        expect((await store.claimLogoutDeliveries(NOW + 2, 60, 10)).map((d) => [d.sid, d.clientId])).toEqual([['sid-2', 'c1']])
      })

      it('deleteUser queues the deliveries of the sessions it ends (the apps hear of it as when the user is disabled)', async () => {
        await signedInEverywhere()
        expect(await store.deleteUser('u1', NOW + 3)).toBe(true)
        expect((await store.claimLogoutDeliveries(NOW + 3, 60, 10)).map((d) => [d.sid, d.clientId, d.userId]).toSorted()).toEqual([
          ['sid-1', 'c1', 'u1'],
          ['sid-1', 'c2', 'u1'],
          ['sid-2', 'c1', 'u1'],
        ])
      })

      it('signOutUser queues the deliveries of every session it ends', async () => {
        await signedInEverywhere()
        expect(await store.signOutUser('u1', NOW + 3, 's1')).toMatchObject({ sessions: [{ userId: 'u1', sid: 'sid-2' }], logoutsQueued: 1 })
        expect(await store.signOutUser('u1', NOW + 4)).toMatchObject({ sessions: [{ userId: 'u1', sid: 'sid-1' }], logoutsQueued: 2 })
        expect((await store.claimLogoutDeliveries(NOW + 4, 60, 10)).map((d) => [d.sid, d.clientId]).toSorted()).toEqual([['sid-1', 'c1'], ['sid-1', 'c2'], ['sid-2', 'c1']])
      })

      it('claimLogoutDeliveries: soonest due first, at most `limit`, each once until its lease ends', async () => {
        await signedInEverywhere()
        await store.signOutBrowser('b2', undefined, NOW)
        await store.signOutBrowser('b1', undefined, NOW + 1)
        const [first] = await store.claimLogoutDeliveries(NOW + 1, 60, 1)
        expect(first).toMatchObject({ sid: 'sid-2', clientId: 'c1', attempts: 1, nextAttemptAt: NOW + 61 })
        expect(await store.claimLogoutDeliveries(NOW + 1, 60, 10)).toHaveLength(2)
        expect(await store.claimLogoutDeliveries(NOW + 2, 60, 10)).toEqual([])
        expect(await store.claimLogoutDeliveries(NOW + 60, 60, 10)).toEqual([])
        // The lease ended without an answer (the instance stopped): claimed again, a second attempt.
        const again = await store.claimLogoutDeliveries(NOW + 61, 60, 10)
        expect(again.map((d) => `${d.sid} ${d.clientId} ${d.attempts}`).toSorted()).toEqual(['sid-1 c1 2', 'sid-1 c2 2', 'sid-2 c1 2'])
      })

      it('two instances claiming at once get each delivery once', async () => {
        await signedInEverywhere()
        await store.signOutBrowser('b1', undefined, NOW)
        await store.signOutBrowser('b2', undefined, NOW)
        const [a, b] = await Promise.all([store.claimLogoutDeliveries(NOW, 60, 10), store.claimLogoutDeliveries(NOW, 60, 10)])
        const all = [...(a ?? []), ...(b ?? [])].map((d) => `${d.sid} ${d.clientId}`)
        expect(all.toSorted()).toEqual(['sid-1 c1', 'sid-1 c2', 'sid-2 c1'])
      })

      it('retryLogoutDelivery sets the next attempt unless a later claim took over; deleteLogoutDelivery removes it', async () => {
        await signedInEverywhere()
        await store.signOutBrowser('b2', undefined, NOW)
        const [claimed] = await store.claimLogoutDeliveries(NOW, 60, 10)
        expect(claimed?.attempts).toBe(1)
        await store.retryLogoutDelivery('sid-2', 'c1', 1, NOW + 30)
        expect(await store.nextLogoutDeliveryAt()).toBe(NOW + 30)
        const [second] = await store.claimLogoutDeliveries(NOW + 30, 60, 10)
        expect(second?.attempts).toBe(2)
        // The first attempt's late failure changes nothing: the second claim holds it.
        await store.retryLogoutDelivery('sid-2', 'c1', 1, NOW + 31)
        expect(await store.nextLogoutDeliveryAt()).toBe(NOW + 90)
        await store.deleteLogoutDelivery('sid-2', 'c1')
        expect(await store.nextLogoutDeliveryAt()).toBeUndefined()
        expect(await store.claimLogoutDeliveries(NOW + 1000, 60, 10)).toEqual([])
      })

      it('a removed client takes its deliveries with it', async () => {
        await signedInEverywhere()
        await store.signOutBrowser('b1', undefined, NOW)
        expect(await store.deleteClient('c2')).toBe(true)
        expect((await store.claimLogoutDeliveries(NOW, 60, 10)).map((d) => d.clientId)).toEqual(['c1'])
      })
    })

    describe('interactions', () => {
      beforeEach(() => seed())

      it('returns an interaction until it expires, then undefined', async () => {
        const i1 = interaction('i1')
        await store.createInteraction(i1)
        expect(await store.getInteraction('i1', NOW)).toEqual(i1)
        expect(await store.getInteraction('i1', i1.expiresAt)).toBeUndefined()
        expect(await store.getInteraction('i2', NOW)).toBeUndefined()
      })

      it('transitionInteraction moves from an allowed state and records the user', async () => {
        await store.createInteraction(interaction('i1'))
        const authenticated = await store.transitionInteraction(
          'i1',
          ['created', 'authenticated'],
          { state: 'authenticated', userId: 'u1', authTime: NOW - 1, sessionHash: 's1' },
          NOW,
        )
        const expected = interaction('i1', { state: 'authenticated', userId: 'u1', authTime: NOW - 1, sessionHash: 's1' })
        expect(authenticated).toEqual(expected)
        expect(await store.getInteraction('i1', NOW)).toEqual(expected)

        const consented = await store.transitionInteraction('i1', ['authenticated'], { state: 'consented' }, NOW)
        expect(consented).toEqual({ ...expected, state: 'consented' })
      })

      it('transitionInteraction is a compare-and-set: a wrong from-state changes nothing', async () => {
        await store.createInteraction(interaction('i1'))
        expect(await store.transitionInteraction('i1', ['consented'], { state: 'code_issued' }, NOW)).toBeUndefined()
        expect(await store.transitionInteraction('i1', [], { state: 'denied' }, NOW)).toBeUndefined()
        expect(await store.transitionInteraction('i2', ['created'], { state: 'denied' }, NOW)).toBeUndefined()
        expect((await store.getInteraction('i1', NOW))?.state).toBe('created')
      })

      it('transitionInteraction fails once the interaction expired', async () => {
        await store.createInteraction(interaction('i1'))
        expect(await store.transitionInteraction('i1', ['created'], { state: 'denied' }, NOW + 10 * MINUTE)).toBeUndefined()
      })

      it('only one of concurrent transitions from the same state wins', async () => {
        await store.createInteraction(interaction('i1', { state: 'consented' }))
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.transitionInteraction('i1', ['consented'], { state: 'code_issued' }, NOW)),
        )
        expect(results.filter((result) => result !== undefined)).toHaveLength(1)
      })
    })

    describe('consents', () => {
      beforeEach(() => seed())

      it('saveConsent creates, then adds scopes as a union', async () => {
        expect(await store.getConsent('u1', 'c1')).toBeUndefined()
        await store.saveConsent('u1', 'c1', ['openid', 'profile'], NOW)
        expect(await store.getConsent('u1', 'c1')).toEqual({
          userId: 'u1',
          clientId: 'c1',
          scopes: ['openid', 'profile'],
          createdAt: NOW,
          updatedAt: NOW,
        })
        await store.saveConsent('u1', 'c1', ['email', 'openid'], NOW + 10)
        const consent = await store.getConsent('u1', 'c1')
        expect(consent?.scopes.toSorted()).toEqual(['email', 'openid', 'profile'])
        expect(consent?.createdAt).toBe(NOW)
        expect(consent?.updatedAt).toBe(NOW + 10)
      })

      it('concurrent saves keep every scope', async () => {
        const scopes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
        await Promise.all(scopes.map((scope) => store.saveConsent('u1', 'c1', [scope], NOW)))
        expect((await store.getConsent('u1', 'c1'))?.scopes.toSorted()).toEqual(scopes)
      })

      it('listAppsWithAccess lists the user\'s consents, oldest first, with the last token issued', async () => {
        await store.createClient(client('c2', { name: 'A first client' }))
        await store.createClient(client('c3', { name: 'Z never used' }))
        await store.createUser(user('u2', 'bob'))
        await store.saveConsent('u1', 'c1', ['openid', 'profile'], NOW)
        await store.saveConsent('u1', 'c2', ['openid'], NOW + 1)
        await store.saveConsent('u1', 'c3', ['email'], NOW + 2)
        await store.saveConsent('u2', 'c1', ['openid'], NOW + 3)
        // c1: an access token at NOW + 10, rotated into one at NOW + 50 with a refresh token at NOW + 60.
        await store.createGrantWithCode(grant('g1'), code('code-g1', 'g1'))
        await store.redeemCode('code-g1', NOW + 10, {
          accessToken: accessToken('at1', 'g1', { createdAt: NOW + 10 }),
          refreshToken: refreshToken('rt1', 'g1', { createdAt: NOW + 10 }),
        })
        await store.rotateRefreshToken('rt1', NOW + 50, {
          accessToken: accessToken('at2', 'g1', { createdAt: NOW + 50 }),
          refreshToken: refreshToken('rt2', 'g1', { createdAt: NOW + 60 }),
        })
        // c2: one access token, no refresh token; u2's token for c2 does not count for u1.
        await store.createGrantWithCode(grant('g2', { clientId: 'c2' }), code('code-g2', 'g2', { clientId: 'c2' }))
        await store.redeemCode('code-g2', NOW, { accessToken: accessToken('at3', 'g2', { clientId: 'c2', createdAt: NOW + 20 }), refreshToken: null })
        await store.createGrantWithCode(grant('g3', { clientId: 'c2', userId: 'u2' }), code('code-g3', 'g3', { clientId: 'c2', userId: 'u2' }))
        await store.redeemCode('code-g3', NOW, {
          accessToken: accessToken('at4', 'g3', { clientId: 'c2', userId: 'u2', createdAt: NOW + 99 }),
          refreshToken: null,
        })

        const listed = await store.listAppsWithAccess('u1')
        expect(listed.map((c) => [c.clientId, c.clientName, c.lastIssuedAt])).toEqual([
          ['c1', 'Client c1', NOW + 60],
          ['c2', 'A first client', NOW + 20],
          ['c3', 'Z never used', null],
        ])
        expect(listed[0]).toEqual({
          userId: 'u1',
          clientId: 'c1',
          clientName: 'Client c1',
          scopes: ['openid', 'profile'],
          since: NOW,
          consented: true,
          lastIssuedAt: NOW + 60,
        })
        // u2 consented to c1 only, but holds a live grant to c2: listed too, without a consent.
        expect((await store.listAppsWithAccess('u2')).map((c) => [c.clientId, c.consented, c.since, c.lastIssuedAt])).toEqual([
          ['c2', false, NOW, NOW + 99],
          ['c1', true, NOW + 3, null],
        ])
        expect(await store.listAppsWithAccess('nobody')).toEqual([])
      })

      it('listAppsWithAccess lists an app let in without a consent while a grant of it lives, with its scopes', async () => {
        await store.createClient(client('c2', { name: 'First party' }))
        await store.createGrantWithCode(grant('g1', { clientId: 'c2', scopes: ['openid'], createdAt: NOW + 5 }), code('code-g1', 'g1', { clientId: 'c2' }))
        await store.createGrantWithCode(grant('g2', { clientId: 'c2', scopes: ['openid', 'email'], createdAt: NOW + 9 }), code('code-g2', 'g2', { clientId: 'c2' }))
        await store.createGrantWithCode(grant('g3', { clientId: 'c1', scopes: ['profile'] }), code('code-g3', 'g3'))
        await store.revokeGrant('g3', NOW)
        const listed = await store.listAppsWithAccess('u1')
        expect(listed).toEqual([
          { userId: 'u1', clientId: 'c2', clientName: 'First party', scopes: ['email', 'openid'], since: NOW + 5, consented: false, lastIssuedAt: null },
        ])
        // Removing it revokes its grants: it is no longer listed.
        expect(await store.revokeConsent('u1', 'c2', NOW + 10)).toBe(true)
        expect(await store.listAppsWithAccess('u1')).toEqual([])
      })

      it('revokeConsent deletes the consent and revokes every grant of that user to that client, and nothing else', async () => {
        await store.createClient(client('c2'))
        await store.createUser(user('u2', 'bob'))
        await store.saveConsent('u1', 'c1', ['openid'], NOW)
        await store.saveConsent('u1', 'c2', ['openid'], NOW)
        await store.saveConsent('u2', 'c1', ['openid'], NOW)
        // Two grants of u1 to c1 (one with a rotated refresh token, one with a code not yet redeemed);
        // u1's grant to c2 and u2's grant to c1 must survive.
        await store.createGrantWithCode(grant('g1'), code('code-g1', 'g1'))
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.rotateRefreshToken('rt1', NOW + 1, tokens('at1b', 'g1', 'rt1b'))
        await store.createGrantWithCode(grant('g2'), code('code-g2', 'g2'))
        await store.createGrantWithCode(grant('g3', { clientId: 'c2' }), code('code-g3', 'g3', { clientId: 'c2' }))
        await store.redeemCode('code-g3', NOW, { accessToken: accessToken('at3', 'g3', { clientId: 'c2' }), refreshToken: null })
        await store.createGrantWithCode(grant('g4', { userId: 'u2' }), code('code-g4', 'g4', { userId: 'u2' }))
        await store.redeemCode('code-g4', NOW, { accessToken: accessToken('at4', 'g4', { userId: 'u2' }), refreshToken: null })

        expect(await store.revokeConsent('u1', 'c1', NOW + 10)).toBe(true)

        expect(await store.getConsent('u1', 'c1')).toBeUndefined()
        expect((await store.getGrant('g1'))?.revokedAt).toBe(NOW + 10)
        expect((await store.getGrant('g2'))?.revokedAt).toBe(NOW + 10)
        expect((await store.getAccessToken('at1'))?.revokedAt).toBe(NOW + 10)
        expect((await store.getAccessToken('at1b'))?.revokedAt).toBe(NOW + 10)
        // Refresh tokens and codes stop with their grant, as after revokeGrant.
        expect(await store.rotateRefreshToken('rt1b', NOW + 11, tokens('at9', 'g1', 'rt9'))).toBe(false)
        expect(await store.redeemCode('code-g2', NOW + 11, tokens('at8', 'g2', 'rt8'))).toBe(false)
        expect(await store.getAccessToken('at9')).toBeUndefined()

        expect(await store.getConsent('u1', 'c2')).toBeDefined()
        expect(await store.getConsent('u2', 'c1')).toBeDefined()
        expect((await store.getGrant('g3'))?.revokedAt).toBeNull()
        expect((await store.getGrant('g4'))?.revokedAt).toBeNull()
        expect((await store.getAccessToken('at3'))?.revokedAt).toBeNull()
        expect((await store.getAccessToken('at4'))?.revokedAt).toBeNull()
      })

      it('revokeConsent keeps the first revocation time and is false when there is nothing left to revoke', async () => {
        await store.saveConsent('u1', 'c1', ['openid'], NOW)
        await store.createGrantWithCode(grant('g1'), code('code-g1', 'g1'))
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', null))
        await store.revokeGrant('g1', NOW + 5)
        expect(await store.revokeConsent('u1', 'c1', NOW + 10)).toBe(true)
        expect((await store.getGrant('g1'))?.revokedAt).toBe(NOW + 5)
        expect((await store.getAccessToken('at1'))?.revokedAt).toBe(NOW + 5)
        expect(await store.revokeConsent('u1', 'c1', NOW + 20)).toBe(false)
        expect(await store.revokeConsent('u1', 'unknown', NOW)).toBe(false)
        // A live grant without a consent (a first-party client that skipped consent) is still revoked.
        await store.createGrantWithCode(grant('g2'), code('code-g2', 'g2'))
        expect(await store.revokeConsent('u1', 'c1', NOW + 30)).toBe(true)
        expect((await store.getGrant('g2'))?.revokedAt).toBe(NOW + 30)
      })
    })

    describe('grants and authorization codes', () => {
      beforeEach(() => seed('g1'))

      it('RFC 8707: a grant keeps the resources authorized, read with its code and, after the exchange, its refresh token; none when none was named', async () => {
        const resources = ['https://mcp.example.com/mcp', 'urn:example:api']
        await store.createGrantWithCode(grant('g2', { resources }), code('code-g2', 'g2'))
        expect(await store.getGrant('g2')).toEqual(grant('g2', { resources }))
        expect((await store.getCodeWithGrant('code-g2'))?.grant).toEqual(grant('g2', { resources }))
        expect(await store.redeemCode('code-g2', NOW, tokens('at2', 'g2', 'rt2'))).toBe(true)
        expect((await store.getRefreshTokenWithGrant('rt2'))?.grant.resources).toEqual(resources)
        expect(await store.getGrant('g1')).not.toHaveProperty('resources')
      })

      it('createGrantWithCode stores both', async () => {
        const plain = code('code-g2', 'g2', { codeChallenge: null, codeChallengeMethod: null, nonce: null, redirectUriSent: false })
        await store.createGrantWithCode(grant('g2'), plain)
        expect(await store.getGrant('g2')).toEqual(grant('g2'))
        expect(await store.getCode('code-g2')).toEqual(plain)
        expect(await store.getGrant('g3')).toBeUndefined()
        expect(await store.getCode('code-g3')).toBeUndefined()
      })

      it('getCodeWithGrant reads the code with its grant and user, revoked or not', async () => {
        expect(await store.getCodeWithGrant('code-g1')).toEqual({ code: code('code-g1', 'g1'), grant: grant('g1'), user: user('u1', 'alice') })
        expect(await store.getCodeWithGrant('unknown')).toBeUndefined()
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.revokeGrant('g1', NOW + 1)
        const found = await store.getCodeWithGrant('code-g1')
        expect(found?.code.consumedAt).toBe(NOW)
        expect(found?.grant.revokedAt).toBe(NOW + 1)
      })

      it('a grant keeps the amr of the sign-in it was made in', async () => {
        const withAmr = grant('g-amr', { sid: 'sid-1', amr: ['swk', 'user'] })
        await store.createGrantWithCode(withAmr, code('code-g-amr', 'g-amr'))
        expect(await store.getGrant('g-amr')).toEqual(withAmr)
        expect((await store.getCodeWithGrant('code-g-amr'))?.grant).toEqual(withAmr)
      })

      it('createGrantWithCode is atomic: a duplicate code leaves no grant behind', async () => {
        await expect(store.createGrantWithCode(grant('g2'), code('code-g1', 'g2'))).rejects.toBeInstanceOf(DuplicateError)
        expect(await store.getGrant('g2')).toBeUndefined()
      })

      it('redeemCode consumes the code and writes the tokens', async () => {
        expect(await store.redeemCode('code-g1', NOW + 5, tokens('at1', 'g1', 'rt1'))).toBe(true)
        expect((await store.getCode('code-g1'))?.consumedAt).toBe(NOW + 5)
        expect(await store.getAccessToken('at1')).toEqual(accessToken('at1', 'g1'))
        expect(await store.getRefreshToken('rt1')).toEqual(refreshToken('rt1', 'g1'))
      })

      it('redeemCode without a refresh token writes only the access token', async () => {
        expect(await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', null))).toBe(true)
        expect(await store.getAccessToken('at1')).toBeDefined()
      })

      it('redeemCode a second time is false and writes nothing', async () => {
        expect(await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))).toBe(true)
        expect(await store.redeemCode('code-g1', NOW + 1, tokens('at2', 'g1', 'rt2'))).toBe(false)
        expect(await store.getAccessToken('at2')).toBeUndefined()
        expect(await store.getRefreshToken('rt2')).toBeUndefined()
        expect((await store.getCode('code-g1'))?.consumedAt).toBe(NOW)
      })

      it('redeemCode of an expired or unknown code is false', async () => {
        expect(await store.redeemCode('code-g1', NOW + MINUTE, tokens('at1', 'g1', 'rt1'))).toBe(false)
        expect(await store.redeemCode('unknown', NOW, tokens('at2', 'g1', 'rt2'))).toBe(false)
        expect(await store.getAccessToken('at1')).toBeUndefined()
        expect(await store.getRefreshToken('rt1')).toBeUndefined()
        expect((await store.getCode('code-g1'))?.consumedAt).toBeNull()
      })

      it('redeemCode under a revoked grant is false', async () => {
        await store.revokeGrant('g1', NOW)
        expect(await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))).toBe(false)
        expect(await store.getAccessToken('at1')).toBeUndefined()
        expect((await store.getCode('code-g1'))?.consumedAt).toBeNull()
      })

      it('redeemCode fails with DuplicateError and writes nothing when a token already exists', async () => {
        await store.createGrantWithCode(grant('g2'), code('code-g2', 'g2'))
        expect(await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))).toBe(true)
        await expect(store.redeemCode('code-g2', NOW, tokens('at2', 'g2', 'rt1'))).rejects.toBeInstanceOf(DuplicateError)
        expect((await store.getCode('code-g2'))?.consumedAt).toBeNull()
        expect(await store.getAccessToken('at2')).toBeUndefined()
      })

      it('20 concurrent redemptions of one code: exactly one wins and one access token exists', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.redeemCode('code-g1', NOW, tokens(`at${i}`, 'g1', `rt${i}`))),
        )
        expect(results.filter(Boolean)).toHaveLength(1)
        const accessTokens = await Promise.all(Array.from({ length: 20 }, (_, i) => store.getAccessToken(`at${i}`)))
        const refreshTokens = await Promise.all(Array.from({ length: 20 }, (_, i) => store.getRefreshToken(`rt${i}`)))
        expect(accessTokens.filter(Boolean)).toHaveLength(1)
        expect(refreshTokens.filter(Boolean)).toHaveLength(1)
        expect(accessTokens.findIndex(Boolean)).toBe(results.indexOf(true))
      })

      it('revokeGrant sets revokedAt once, revokes its access tokens, and is idempotent', async () => {
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.revokeGrant('g1', NOW + 10)
        await store.revokeGrant('g1', NOW + 20)
        expect((await store.getGrant('g1'))?.revokedAt).toBe(NOW + 10)
        expect((await store.getAccessToken('at1'))?.revokedAt).toBe(NOW + 10)
        await expect(store.revokeGrant('unknown', NOW)).resolves.toBeUndefined()
      })
    })

    describe('refresh tokens', () => {
      beforeEach(async () => {
        await seed('g1')
        await store.redeemCode('code-g1', NOW, tokens('at0', 'g1', 'rt0'))
      })

      it('getRefreshTokenWithGrant reads the token with its grant and user', async () => {
        expect(await store.getRefreshTokenWithGrant('rt0')).toEqual({ token: refreshToken('rt0', 'g1'), grant: grant('g1'), user: user('u1', 'alice') })
        expect(await store.getRefreshTokenWithGrant('unknown')).toBeUndefined()
      })

      it('rotateRefreshToken marks the token rotated and writes its successors', async () => {
        expect(await store.rotateRefreshToken('rt0', NOW + 100, tokens('at1', 'g1', 'rt1'))).toBe(true)
        expect((await store.getRefreshToken('rt0'))?.rotatedAt).toBe(NOW + 100)
        expect(await store.getRefreshToken('rt1')).toEqual(refreshToken('rt1', 'g1'))
        expect(await store.getAccessToken('at1')).toEqual(accessToken('at1', 'g1'))
      })

      it('rotateRefreshToken a second time is false and writes nothing', async () => {
        expect(await store.rotateRefreshToken('rt0', NOW, tokens('at1', 'g1', 'rt1'))).toBe(true)
        expect(await store.rotateRefreshToken('rt0', NOW, tokens('at2', 'g1', 'rt2'))).toBe(false)
        expect(await store.getAccessToken('at2')).toBeUndefined()
        expect(await store.getRefreshToken('rt2')).toBeUndefined()
      })

      it('rotateRefreshToken of an expired or unknown token is false', async () => {
        expect(await store.rotateRefreshToken('rt0', NOW + DAY, tokens('at1', 'g1', 'rt1'))).toBe(false)
        expect(await store.rotateRefreshToken('unknown', NOW, tokens('at2', 'g1', 'rt2'))).toBe(false)
        expect(await store.getAccessToken('at1')).toBeUndefined()
        expect((await store.getRefreshToken('rt0'))?.rotatedAt).toBeNull()
      })

      it('rotateRefreshToken under a revoked grant is false', async () => {
        await store.revokeGrant('g1', NOW + 1)
        expect(await store.rotateRefreshToken('rt0', NOW + 2, tokens('at1', 'g1', 'rt1'))).toBe(false)
        expect(await store.getRefreshToken('rt1')).toBeUndefined()
        expect((await store.getRefreshToken('rt0'))?.rotatedAt).toBeNull()
      })

      it('20 concurrent rotations of one token: exactly one wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.rotateRefreshToken('rt0', NOW, tokens(`at${i + 1}`, 'g1', `rt${i + 1}`))),
        )
        expect(results.filter(Boolean)).toHaveLength(1)
        const accessTokens = await Promise.all(Array.from({ length: 20 }, (_, i) => store.getAccessToken(`at${i + 1}`)))
        const refreshTokens = await Promise.all(Array.from({ length: 20 }, (_, i) => store.getRefreshToken(`rt${i + 1}`)))
        expect(accessTokens.filter(Boolean)).toHaveLength(1)
        expect(refreshTokens.filter(Boolean)).toHaveLength(1)
      })
    })

    describe('access tokens', () => {
      beforeEach(async () => {
        await seed('g1')
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', null))
      })

      it('revokeAccessToken sets revokedAt once', async () => {
        await store.revokeAccessToken('at1', NOW + 5)
        await store.revokeAccessToken('at1', NOW + 6)
        expect(await store.getAccessToken('at1')).toEqual(accessToken('at1', 'g1', { revokedAt: NOW + 5 }))
        await expect(store.revokeAccessToken('unknown', NOW)).resolves.toBeUndefined()
        expect(await store.getAccessToken('unknown')).toBeUndefined()
      })
    })

    describe('signing keys', () => {
      it('inserts, lists (oldest first) and deletes keys', async () => {
        expect(await store.listSigningKeys()).toEqual([])
        const k1 = signingKey('k1', NOW)
        const k2 = signingKey('k2', NOW + DAY)
        await store.insertSigningKeys([k2, k1])
        expect(await store.listSigningKeys()).toEqual([k1, k2])
        await store.deleteSigningKeys(['k1', 'unknown'])
        expect(await store.listSigningKeys()).toEqual([k2])
        await store.insertSigningKeys([])
        await store.deleteSigningKeys([])
        expect(await store.listSigningKeys()).toEqual([k2])
      })

      it('retireSigningKey sets retiredAt once; false for an unknown or retired key', async () => {
        await store.insertSigningKeys([signingKey('k1', NOW), signingKey('k2', NOW)])
        expect(await store.retireSigningKey('k1', NOW + 5)).toBe(true)
        expect(await store.retireSigningKey('k1', NOW + 9)).toBe(false)
        expect(await store.retireSigningKey('nope', NOW)).toBe(false)
        expect(await store.listSigningKeys()).toEqual([{ ...signingKey('k1', NOW), retiredAt: NOW + 5 }, signingKey('k2', NOW)])
      })

      it('a duplicate kid throws DuplicateError and inserts none of the batch', async () => {
        await store.insertSigningKeys([signingKey('k1', NOW)])
        await expect(store.insertSigningKeys([signingKey('k2', NOW), signingKey('k1', NOW)])).rejects.toBeInstanceOf(
          DuplicateError,
        )
        expect((await store.listSigningKeys()).map((key) => key.kid)).toEqual(['k1'])
      })
    })

    describe('admin tokens', () => {
      const adminToken = (id: string, name: string, overrides: Partial<AdminTokenRecord> = {}): AdminTokenRecord => ({
        id,
        name,
        tokenHash: `hash-${id}`,
        createdAt: NOW,
        lastUsedAt: null,
        revokedAt: null,
        ...overrides,
      })

      it('creates, finds by hash, lists (oldest first), marks used and revokes once', async () => {
        const t1 = adminToken('t1', 'ci')
        const t2 = adminToken('t2', 'terraform', { createdAt: NOW - 1 })
        await store.createAdminToken(t1)
        await store.createAdminToken(t2)
        expect(await store.listAdminTokens()).toEqual([t2, t1])
        expect(await store.getAdminTokenByHash('hash-t1')).toEqual(t1)
        expect(await store.getAdminTokenByHash('nope')).toBeUndefined()
        await store.markAdminTokenUsed('t1', NOW + 3)
        expect((await store.getAdminTokenByHash('hash-t1'))?.lastUsedAt).toBe(NOW + 3)
        expect(await store.revokeAdminToken('t1', NOW + 4)).toBe(true)
        expect(await store.revokeAdminToken('t1', NOW + 5)).toBe(false)
        expect(await store.revokeAdminToken('nope', NOW)).toBe(false)
        // Found when revoked too: the caller decides.
        expect(await store.getAdminTokenByHash('hash-t1')).toEqual({ ...t1, lastUsedAt: NOW + 3, revokedAt: NOW + 4 })
      })

      it('a name is unique among the tokens not revoked; a hash or id never repeats', async () => {
        await store.createAdminToken(adminToken('t1', 'ci'))
        await expect(store.createAdminToken(adminToken('t2', 'ci'))).rejects.toBeInstanceOf(DuplicateError)
        await expect(store.createAdminToken(adminToken('t3', 'other', { tokenHash: 'hash-t1' }))).rejects.toBeInstanceOf(DuplicateError)
        await expect(store.createAdminToken(adminToken('t1', 'other'))).rejects.toBeInstanceOf(DuplicateError)
        await store.revokeAdminToken('t1', NOW)
        await store.createAdminToken(adminToken('t2', 'ci'))
        expect((await store.listAdminTokens()).map((token) => [token.id, token.name, token.revokedAt])).toEqual([['t1', 'ci', NOW], ['t2', 'ci', null]])
      })
    })

    describe('initial access tokens of dynamic client registration (RFC 7591 §1.2)', () => {
      const registrationToken = (id: string, name: string, overrides: Partial<RegistrationTokenRecord> = {}): RegistrationTokenRecord => ({
        id,
        name,
        tokenHash: `hash-${id}`,
        createdAt: NOW,
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: null,
        ...overrides,
      })

      it('creates, finds by hash, lists (oldest first), marks used and revokes once; an expiry is kept', async () => {
        const t1 = registrationToken('t1', 'partners', { expiresAt: NOW + MINUTE })
        const t2 = registrationToken('t2', 'ci', { createdAt: NOW - 1 })
        await store.createRegistrationToken(t1)
        await store.createRegistrationToken(t2)
        expect(await store.listRegistrationTokens()).toEqual([t2, t1])
        expect(await store.getRegistrationTokenByHash('hash-t1')).toEqual(t1)
        expect(await store.getRegistrationTokenByHash('nope')).toBeUndefined()
        await store.markRegistrationTokenUsed('t1', NOW + 3)
        expect((await store.getRegistrationTokenByHash('hash-t1'))?.lastUsedAt).toBe(NOW + 3)
        expect(await store.revokeRegistrationToken('t1', NOW + 4)).toBe(true)
        expect(await store.revokeRegistrationToken('t1', NOW + 5)).toBe(false)
        expect(await store.revokeRegistrationToken('nope', NOW)).toBe(false)
        expect(await store.getRegistrationTokenByHash('hash-t1')).toEqual({ ...t1, lastUsedAt: NOW + 3, revokedAt: NOW + 4 })
      })

      it('a name is unique among the tokens not revoked; a hash or id never repeats', async () => {
        await store.createRegistrationToken(registrationToken('t1', 'ci'))
        await expect(store.createRegistrationToken(registrationToken('t2', 'ci'))).rejects.toBeInstanceOf(DuplicateError)
        await expect(store.createRegistrationToken(registrationToken('t3', 'other', { tokenHash: 'hash-t1' }))).rejects.toBeInstanceOf(DuplicateError)
        await expect(store.createRegistrationToken(registrationToken('t1', 'other'))).rejects.toBeInstanceOf(DuplicateError)
        await store.revokeRegistrationToken('t1', NOW)
        await store.createRegistrationToken(registrationToken('t2', 'ci'))
        expect((await store.listRegistrationTokens()).map((token) => [token.id, token.name, token.revokedAt])).toEqual([['t1', 'ci', NOW], ['t2', 'ci', null]])
      })
    })

    describe('pushed authorization requests (RFC 9126)', () => {
      it('a request is taken once, by the client that pushed it, before it expires; its parameters come back as pushed', async () => {
        await seed()
        await store.createClient(client('c2'))
        const pushed = pushedRequest('par-1', { params: [['scope', 'openid profile'], ['redirect_uri', 'https://app.example/cb?x="a b"&y=é'], ['scope', 'twice']] })
        await store.createPushedRequest(pushed)
        expect(await store.takePushedRequest('par-1', 'c2', NOW)).toBeUndefined()
        expect(await store.takePushedRequest('par-1', 'c1', NOW + MINUTE)).toBeUndefined()
        expect(await store.takePushedRequest('par-1', 'c1', NOW + 1)).toEqual(pushed)
        expect(await store.takePushedRequest('par-1', 'c1', NOW + 2)).toBeUndefined()
      })

      it('concurrent takes of one request: exactly one wins', async () => {
        await seed()
        await store.createPushedRequest(pushedRequest('par-race'))
        const taken = await Promise.all(Array.from({ length: 10 }, () => store.takePushedRequest('par-race', 'c1', NOW)))
        expect(taken.filter((request) => request !== undefined)).toHaveLength(1)
      })

      it('a removed client takes its pushed requests with it', async () => {
        await seed()
        await store.createPushedRequest(pushedRequest('par-gone'))
        await store.deleteClient('c1')
        await store.createClient(client('c1'))
        expect(await store.takePushedRequest('par-gone', 'c1', NOW)).toBeUndefined()
      })
    })

    describe('single-use jtis', () => {
      it('useOnce is true the first time only, concurrent calls included', async () => {
        expect(await store.useOnce('k1', NOW + MINUTE)).toBe(true)
        expect(await store.useOnce('k1', NOW + MINUTE)).toBe(false)
        const results = await Promise.all(Array.from({ length: 10 }, () => store.useOnce('k2', NOW + MINUTE)))
        expect(results.filter(Boolean)).toHaveLength(1)
      })
    })

    describe('passkeys', () => {
      const passkey = (credentialId: string, overrides: Partial<PasskeyRecord> = {}): PasskeyRecord => ({
        credentialId,
        userId: 'u1',
        publicKey: 'pQECAyYgASFYIA',
        counter: 0,
        transports: ['internal', 'hybrid'],
        name: 'Laptop',
        deviceType: 'multiDevice',
        backedUp: true,
        createdAt: NOW,
        lastUsedAt: null,
        ...overrides,
      })

      beforeEach(async () => {
        await store.createUser(user('u1', 'alice'))
        await store.createUser(user('u2', 'bob'))
      })

      it('keeps each passkey of a user, oldest first; a credential id is registered once', async () => {
        await store.createPasskey(passkey('cred-b', { createdAt: NOW + 5, deviceType: 'singleDevice', backedUp: false, transports: [] }))
        await store.createPasskey(passkey('cred-a'))
        await store.createPasskey(passkey('cred-c', { userId: 'u2' }))
        expect(await store.listPasskeys('u1')).toEqual([passkey('cred-a'), passkey('cred-b', { createdAt: NOW + 5, deviceType: 'singleDevice', backedUp: false, transports: [] })])
        expect(await store.getPasskey('cred-c')).toEqual(passkey('cred-c', { userId: 'u2' }))
        expect(await store.getPasskey('unknown')).toBeUndefined()
        await expect(store.createPasskey(passkey('cred-a', { userId: 'u2' }))).rejects.toBeInstanceOf(DuplicateError)
      })

      it('WebAuthn §7.2 step 21: usePasskey moves the counter only upwards (0 stays 0), once for concurrent uses', async () => {
        await store.createPasskey(passkey('cred-a', { counter: 5 }))
        expect(await store.usePasskey('cred-a', 5, true, NOW + 1)).toBe(false)
        expect(await store.usePasskey('cred-a', 4, true, NOW + 1)).toBe(false)
        expect(await store.usePasskey('cred-a', 0, true, NOW + 1)).toBe(false)
        expect(await store.usePasskey('cred-a', 7, false, NOW + 2)).toBe(true)
        expect(await store.getPasskey('cred-a')).toEqual(passkey('cred-a', { counter: 7, backedUp: false, lastUsedAt: NOW + 2 }))
        const results = await Promise.all(Array.from({ length: 5 }, () => store.usePasskey('cred-a', 8, false, NOW + 3)))
        expect(results.filter(Boolean)).toHaveLength(1)
        await store.createPasskey(passkey('cred-zero'))
        expect(await store.usePasskey('cred-zero', 0, true, NOW + 4)).toBe(true)
        expect(await store.usePasskey('cred-zero', 0, true, NOW + 5)).toBe(true)
        expect((await store.getPasskey('cred-zero'))?.lastUsedAt).toBe(NOW + 5)
        expect(await store.usePasskey('unknown', 1, true, NOW)).toBe(false)
      })

      it('deletePasskey removes only the user\'s own passkey; removing the user removes them all', async () => {
        await store.createPasskey(passkey('cred-a'))
        await store.createPasskey(passkey('cred-b', { userId: 'u2' }))
        expect(await store.deletePasskey('u1', 'cred-b')).toBe(false)
        expect(await store.getPasskey('cred-b')).toBeDefined()
        expect(await store.deletePasskey('u1', 'cred-a')).toBe(true)
        expect(await store.deletePasskey('u1', 'cred-a')).toBe(false)
        expect(await store.deleteUser('u2', NOW)).toBe(true)
        expect(await store.getPasskey('cred-b')).toBeUndefined()
      })

      it('login sessions and grants keep the sign-in\'s amr', async () => {
        const session = { idHash: 's-amr', userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: NOW + HOUR, browserHash: 'b1', sid: 'sid-amr', amr: ['hwk', 'user'] }
        await store.createLoginSession(session)
        expect(await store.getLoginSession('s-amr', NOW)).toEqual(session)
        expect((await store.listUserSessions('u1', NOW))[0]).toEqual(session)
      })
    })

    describe('rate limits', () => {
      const hard = { max: 3, window: MINUTE, delays: [] }
      const progressive = { max: 2, window: 10 * MINUTE, delays: [10, 20] }

      it('reserveAttempt takes max attempts in a window that starts at the first, then none until it ends', async () => {
        for (let i = 0; i < 3; i++) expect(await store.reserveAttempt('ip:1', hard, NOW + i)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('ip:1', hard, NOW + 30)).toEqual({ reserved: false, retryAfter: MINUTE - 30 })
        expect(await store.reserveAttempt('ip:2', hard, NOW + 30)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('ip:1', hard, NOW + MINUTE)).toEqual({ reserved: true })
      })

      it('reserveAttempt past max waits each delay in turn, the last repeating', async () => {
        expect(await store.reserveAttempt('acct', progressive, NOW)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('acct', progressive, NOW)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('acct', progressive, NOW + 1)).toEqual({ reserved: false, retryAfter: 9 })
        expect(await store.reserveAttempt('acct', progressive, NOW + 10)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('acct', progressive, NOW + 29)).toEqual({ reserved: false, retryAfter: 1 })
        expect(await store.reserveAttempt('acct', progressive, NOW + 30)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('acct', progressive, NOW + 49)).toEqual({ reserved: false, retryAfter: 1 })
        expect(await store.reserveAttempt('acct', progressive, NOW + 50)).toEqual({ reserved: true })
        // A new window starts over.
        expect(await store.reserveAttempt('acct', progressive, NOW + 10 * MINUTE)).toEqual({ reserved: true })
        expect(await store.reserveAttempt('acct', progressive, NOW + 10 * MINUTE)).toEqual({ reserved: true })
      })

      it('of concurrent reservations exactly max succeed', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => store.reserveAttempt('ip:1', hard, NOW)))
        expect(results.filter((result) => result.reserved)).toHaveLength(3)
      })

      it('refundAttempt gives one attempt back within the window', async () => {
        for (let i = 0; i < 3; i++) await store.reserveAttempt('ip:1', hard, NOW)
        await store.refundAttempt('ip:1', hard, NOW + 1)
        expect(await store.reserveAttempt('ip:1', hard, NOW + 1)).toEqual({ reserved: true })
        expect((await store.reserveAttempt('ip:1', hard, NOW + 1)).reserved).toBe(false)
        await expect(store.refundAttempt('nobody', hard, NOW)).resolves.toBeUndefined()
      })

      it('resetRateLimit starts over', async () => {
        for (let i = 0; i < 3; i++) await store.reserveAttempt('ip:1', hard, NOW)
        await store.resetRateLimit('ip:1')
        expect(await store.reserveAttempt('ip:1', hard, NOW)).toEqual({ reserved: true })
      })
    })

    describe('purgeExpired', () => {
      it('deletes what can no longer be used and keeps the rest', async () => {
        const purgeAt = NOW + 1000
        await seed()
        // g1: code expired (consumed), access and refresh tokens live; rt1 was rotated into rt1b,
        // which expired, so rt1 (rotated, live) and at1b (live) stay.
        await store.createGrantWithCode(grant('g1'), code('code-g1', 'g1', { expiresAt: NOW + 600 }))
        await store.redeemCode('code-g1', NOW, tokens('at1', 'g1', 'rt1'))
        await store.rotateRefreshToken('rt1', NOW + 10, {
          accessToken: accessToken('at1b', 'g1'),
          refreshToken: refreshToken('rt1b', 'g1', { expiresAt: NOW + 500 }),
        })
        // g2: everything expired, so the grant goes too.
        await store.createGrantWithCode(grant('g2'), code('code-g2', 'g2', { expiresAt: NOW + 600 }))
        await store.redeemCode('code-g2', NOW, {
          accessToken: accessToken('at2', 'g2', { expiresAt: NOW + 900 }),
          refreshToken: null,
        })
        // g3: revoked, so its live tokens go with it.
        await store.createGrantWithCode(grant('g3'), code('code-g3', 'g3', { expiresAt: NOW + 600 }))
        await store.redeemCode('code-g3', NOW, tokens('at3', 'g3', 'rt3'))
        await store.revokeGrant('g3', NOW + 20)
        // g4: its code is not redeemed yet and still live.
        await store.createGrantWithCode(grant('g4'), code('code-g4', 'g4', { createdAt: NOW + 900, expiresAt: NOW + 1500 }))

        await store.createLoginSession({ idHash: 's-old', userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: purgeAt, browserHash: null })
        await store.createLoginSession({ idHash: 's-live', userId: 'u1', authTime: NOW, createdAt: NOW, expiresAt: purgeAt + 1, browserHash: 'b1' })
        await store.createInteraction(interaction('i-old', { expiresAt: purgeAt - 1 }))
        await store.createInteraction(interaction('i-live', { expiresAt: purgeAt + 600 }))
        const once = { max: 1, window: MINUTE, delays: [] }
        await store.reserveAttempt('old', once, NOW)
        await store.reserveAttempt('live', once, purgeAt - 10)
        await store.createPushedRequest(pushedRequest('par-old', { expiresAt: purgeAt }))
        await store.createPushedRequest(pushedRequest('par-live', { expiresAt: purgeAt + 1 }))
        await store.useOnce('jti-old', purgeAt)
        await store.useOnce('jti-live', purgeAt + 1)

        expect(await store.purgeExpired(purgeAt)).toEqual({
          codes: 3,
          refreshTokens: 2,
          accessTokens: 2,
          loginSessions: 1,
          interactions: 1,
          grants: 2,
          rateLimits: 1,
          pushedRequests: 1,
          usedJtis: 1,
        })

        expect(await store.getGrant('g1')).toBeDefined()
        expect(await store.getAccessToken('at1')).toBeDefined()
        expect(await store.getAccessToken('at1b')).toBeDefined()
        expect(await store.getRefreshToken('rt1')).toBeDefined()
        expect(await store.getRefreshToken('rt1b')).toBeUndefined()
        expect(await store.getCode('code-g1')).toBeUndefined()
        expect(await store.getGrant('g2')).toBeUndefined()
        expect(await store.getAccessToken('at2')).toBeUndefined()
        expect(await store.getGrant('g3')).toBeUndefined()
        expect(await store.getAccessToken('at3')).toBeUndefined()
        expect(await store.getRefreshToken('rt3')).toBeUndefined()
        expect(await store.getGrant('g4')).toBeDefined()
        expect(await store.getCode('code-g4')).toBeDefined()
        expect(await store.getLoginSession('s-live', purgeAt)).toBeDefined()
        expect(await store.getInteraction('i-live', purgeAt)).toBeDefined()
        expect((await store.reserveAttempt('live', once, purgeAt)).reserved).toBe(false)
        expect(await store.takePushedRequest('par-live', 'c1', purgeAt)).toBeDefined()
        expect(await store.useOnce('jti-live', purgeAt)).toBe(false)

        expect(await store.purgeExpired(purgeAt)).toEqual({
          codes: 0,
          refreshTokens: 0,
          accessTokens: 0,
          loginSessions: 0,
          interactions: 0,
          grants: 0,
          rateLimits: 0,
          pushedRequests: 0,
          usedJtis: 0,
        })
      })
    })
  })
}
