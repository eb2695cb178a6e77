import { describe, expect, it } from 'vitest'
import { testAdmin } from '../../test/admin-context.js'
import { ARGON2ID_REFERENCE, BCRYPT_REFERENCE } from '../../test/fixtures/password-hashes.js'
import { NOW } from '../../test/protocol-fixtures.js'
import { hashPassword, verifyPassword } from '../tokens/secrets.js'
import { AdminError } from './errors.js'
import { createUser, disableUser, enableUser, importUsers, listUsers, removeUser, setUserPassword, showUser, updateUser } from './users.js'

const PASSWORD = 'correct horse battery'

/** The error `promise` rejects with, which must be an AdminError. */
async function refused(promise: Promise<unknown>): Promise<AdminError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AdminError)
  return error as AdminError
}

describe('admin users', () => {
  it('createUser hashes the password, answers the user without it, and emits admin.user_created', async () => {
    const ctx = testAdmin()
    const user = await createUser(ctx, { username: 'alice', password: PASSWORD, name: 'Alice', email: 'alice@example.com', email_verified: true })
    expect(user).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: 'alice',
      name: 'Alice',
      email: 'alice@example.com',
      email_verified: true,
      disabled: false,
      created_at: NOW,
      updated_at: NOW,
    })
    expect(JSON.stringify(user)).not.toMatch(/hash|password|scrypt/)
    const stored = await ctx.store.getUserById(user.id)
    expect(await verifyPassword(PASSWORD, stored?.passwordHash ?? '')).toBe(true)
    expect(ctx.emitted).toEqual([{ type: 'admin.user_created', actor: 'cli', clientId: null, userId: user.id }])
  })

  it.each([
    [{ username: 'b o b' }, 'username', /username: 1 to 64/],
    [{ username: 'x'.repeat(65) }, 'username', /username/],
    [{ password: 'seven77' }, 'password', /password: at least 8 characters/],
    [{ password: 'p'.repeat(1025) }, 'password', /password: at most 1024/],
    [{ email: 'not-an-email' }, 'email', /email: not an email address/],
    [{ name: 'a\u0000b' }, 'name', /name/],
    [{ email_verified: 'yes' as unknown as boolean }, 'email_verified', /email_verified: true or false/],
  ])('createUser refuses %j naming the field, writes nothing, emits nothing', async (override, field, message) => {
    const ctx = testAdmin()
    const error = await refused(createUser(ctx, { username: 'bob', password: PASSWORD, ...override }))
    expect(error).toMatchObject({ code: 'invalid', status: 400, field })
    expect(error.message).toMatch(message)
    expect(error.message).not.toContain(PASSWORD)
    expect(ctx.store.users.size).toBe(0)
    expect(ctx.emitted).toEqual([])
  })

  it('createUser: a username taken is a conflict', async () => {
    const ctx = testAdmin()
    await createUser(ctx, { username: 'alice', password: PASSWORD })
    expect(await refused(createUser(ctx, { username: 'alice', password: PASSWORD }))).toMatchObject({ code: 'conflict', status: 409, field: 'username', message: 'a user named alice exists already' })
  })

  it('listUsers pages in username order; showUser by id or username; an unknown one is not_found', async () => {
    const ctx = testAdmin()
    for (const username of ['carol', 'alice', 'bob']) await createUser(ctx, { username, password: PASSWORD })
    expect((await listUsers(ctx)).map((u) => u.username)).toEqual(['alice', 'bob', 'carol'])
    expect((await listUsers(ctx, { after: 'alice', limit: 1 })).map((u) => u.username)).toEqual(['bob'])
    expect(await refused(listUsers(ctx, { limit: 0 }))).toMatchObject({ code: 'invalid', field: 'limit' })
    const bob = await showUser(ctx, { username: 'bob' })
    expect(await showUser(ctx, { id: bob.id })).toEqual(bob)
    expect(await refused(showUser(ctx, { username: 'dave' }))).toMatchObject({ code: 'not_found', status: 404, message: 'no user named dave' })
    expect(await refused(showUser(ctx, { id: 'nope' }))).toMatchObject({ code: 'not_found', message: 'no user with id nope' })
  })

  it('updateUser changes the profile; a new email is unverified unless said otherwise; nothing to change is refused', async () => {
    const ctx = testAdmin()
    const alice = await createUser(ctx, { username: 'alice', password: PASSWORD, email: 'a@example.com', email_verified: true })
    ctx.advance(5)
    expect(await updateUser(ctx, { username: 'alice' }, { name: 'Alice L.', email: 'new@example.com' })).toMatchObject({
      name: 'Alice L.',
      email: 'new@example.com',
      email_verified: false,
      updated_at: NOW + 5,
    })
    expect(await updateUser(ctx, { id: alice.id }, { email: 'other@example.com', email_verified: true })).toMatchObject({ email_verified: true })
    expect(await updateUser(ctx, { id: alice.id }, { name: null, email: '' })).toMatchObject({ name: null, email: null })
    expect(await refused(updateUser(ctx, { id: alice.id }, {}))).toMatchObject({ code: 'invalid', field: 'user' })
    expect(ctx.emitted.filter((e) => e.type === 'admin.user_updated')).toHaveLength(3)
  })

  it('updateUser checks every field before it writes any', async () => {
    const ctx = testAdmin()
    const alice = await createUser(ctx, { username: 'alice', password: PASSWORD })
    const before = await ctx.store.getUserById(alice.id)
    expect(await refused(updateUser(ctx, { id: alice.id }, { name: 'New', password: 'short', disabled: true }))).toMatchObject({ field: 'password' })
    expect(await ctx.store.getUserById(alice.id)).toEqual(before)
    expect(ctx.emitted.map((e) => e.type)).toEqual(['admin.user_created'])
  })

  it('updateUser with password and disabled does each with its effect and event', async () => {
    const ctx = testAdmin()
    const alice = await createUser(ctx, { username: 'alice', password: PASSWORD })
    const updated = await updateUser(ctx, { id: alice.id }, { password: 'a new password', disabled: true })
    expect(updated.disabled).toBe(true)
    expect(await verifyPassword('a new password', (await ctx.store.getUserById(alice.id))?.passwordHash ?? '')).toBe(true)
    expect(ctx.emitted.map((e) => e.type)).toEqual(['admin.user_created', 'admin.user_password_set', 'admin.user_disabled'])
    expect((await updateUser(ctx, { id: alice.id }, { disabled: false })).disabled).toBe(false)
  })

  it('setUserPassword ends every session of the user but the one kept', async () => {
    const ctx = testAdmin()
    const alice = await createUser(ctx, { username: 'alice', password: PASSWORD })
    for (const idHash of ['s1', 's2']) await ctx.store.createLoginSession({ idHash, userId: alice.id, authTime: NOW, createdAt: NOW, expiresAt: NOW + 3600, browserHash: null })
    await setUserPassword(ctx, { username: 'alice' }, 'another password', 's2')
    expect(await ctx.store.getLoginSession('s1', NOW)).toBeUndefined()
    expect(await ctx.store.getLoginSession('s2', NOW)).toBeDefined()
    expect(await refused(setUserPassword(ctx, { username: 'alice' }, 'short'))).toMatchObject({ field: 'password' })
    expect(await refused(setUserPassword(ctx, { username: 'nobody' }, 'long enough'))).toMatchObject({ code: 'not_found' })
  })

  it('disableUser, enableUser and removeUser emit their events with the actor', async () => {
    const ctx = testAdmin('admin_token:ci')
    const alice = await createUser(ctx, { username: 'alice', password: PASSWORD })
    expect((await disableUser(ctx, { username: 'alice' })).disabled).toBe(true)
    expect(ctx.store.users.get(alice.id)?.disabledAt).toBe(NOW)
    expect((await enableUser(ctx, { username: 'alice' })).disabled).toBe(false)
    expect(await removeUser(ctx, { username: 'alice' })).toMatchObject({ id: alice.id, username: 'alice' })
    expect(ctx.store.users.size).toBe(0)
    expect(ctx.emitted.slice(1)).toEqual(
      ['admin.user_disabled', 'admin.user_enabled', 'admin.user_removed'].map((type) => ({ type, actor: 'admin_token:ci', clientId: null, userId: alice.id })),
    )
    expect(await refused(removeUser(ctx, { username: 'alice' }))).toMatchObject({ code: 'not_found' })
  })
})

describe('admin importUsers', () => {
  const line = (fields: Record<string, unknown>) => JSON.stringify(fields)

  it('imports scrypt, bcrypt and argon2id users with their claims and ids, skipping blank lines', async () => {
    const ctx = testAdmin()
    const scrypt = await hashPassword('an scrypt password')
    const text = [
      line({ username: 'sam', password_hash: scrypt, name: 'Sam', email: 'sam@example.com', email_verified: true, id: 'legacy-42' }),
      '',
      line({ username: 'bea', password_hash: BCRYPT_REFERENCE.hash }),
      line({ username: 'ari', password_hash: ARGON2ID_REFERENCE.hash, email: 'ari@example.com' }),
      '',
    ].join('\n')
    const result = await importUsers(ctx, text)
    expect(result.imported).toBe(3)
    expect(result.users.map((u) => u.username)).toEqual(['sam', 'bea', 'ari'])
    expect(await ctx.store.getUserById('legacy-42')).toMatchObject({ username: 'sam', name: 'Sam', emailVerified: true, passwordHash: scrypt })
    expect((await ctx.store.getUserByUsername('bea'))?.passwordHash).toBe(BCRYPT_REFERENCE.hash)
    expect(await ctx.store.getUserByUsername('ari')).toMatchObject({ email: 'ari@example.com', emailVerified: false })
    expect(ctx.emitted).toEqual([{ type: 'admin.users_imported', actor: 'cli', clientId: null, userId: null, count: 3 }])
  })

  it.each([
    ['not json', 'line', /^line 2: not a JSON object$/],
    ['[1]', 'line', /^line 2: not a JSON object$/],
    [line({ username: 'zed' }), 'password_hash', /^line 2: password_hash: required/],
    [line({ username: 'zed', password_hash: 'md5$x' }), 'password_hash', /^line 2: password_hash: not a scrypt, bcrypt/],
    [line({ username: 'zed', password_hash: '$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW' }), 'password_hash', /bcrypt cost 31 out of range/],
    [line({ username: 'z e d', password_hash: BCRYPT_REFERENCE.hash }), 'username', /^line 2: username/],
    [line({ username: 'zed', password_hash: BCRYPT_REFERENCE.hash, email: 'nope' }), 'email', /^line 2: email/],
    [line({ username: 'zed', password_hash: BCRYPT_REFERENCE.hash, id: 'has space' }), 'id', /^line 2: id/],
    [line({ username: 'zed', password_hash: BCRYPT_REFERENCE.hash, password: 'plain' }), 'password', /^line 2: unknown field password/],
    [line({ username: 'ok', password_hash: BCRYPT_REFERENCE.hash }), 'username', /^line 2: username: ok is taken$/],
  ])('a bad line (%s) imports nothing and names the line and field', async (bad, field, message) => {
    const ctx = testAdmin()
    const text = [line({ username: 'ok', password_hash: ARGON2ID_REFERENCE.hash }), bad, line({ username: 'last', password_hash: BCRYPT_REFERENCE.hash })].join('\n')
    const error = await refused(importUsers(ctx, text))
    expect(error).toMatchObject({ field, line: 2 })
    expect(error.message).toMatch(message)
    expect(error.message).not.toContain('CCCCCCCCCCCCCCCCCCCCC.E5YPO9')
    expect(ctx.store.users.size).toBe(0)
    expect(ctx.emitted).toEqual([])
  })

  it('a username or id already in the store imports nothing; an empty file is refused', async () => {
    const ctx = testAdmin()
    const alice = await createUser(ctx, { username: 'alice', password: PASSWORD })
    const taken = [line({ username: 'new', password_hash: BCRYPT_REFERENCE.hash }), line({ username: 'alice', password_hash: BCRYPT_REFERENCE.hash })].join('\n')
    expect(await refused(importUsers(ctx, taken))).toMatchObject({ code: 'conflict', line: 2, field: 'username' })
    expect(await refused(importUsers(ctx, line({ username: 'other', password_hash: BCRYPT_REFERENCE.hash, id: alice.id })))).toMatchObject({ code: 'conflict', field: 'id' })
    expect(await refused(importUsers(ctx, '\n\n'))).toMatchObject({ code: 'invalid', field: 'file' })
    expect(ctx.store.users.size).toBe(1)
  })
})
