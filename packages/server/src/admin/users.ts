/**
 * Users over their whole life (issue #20): list, show, create, update, set a password, disable,
 * enable, remove, import. Each operation checks everything first and writes only when all of it is
 * valid, then emits one audit event per change. Results are the JSON shape of a user, never its
 * password hash.
 */
import { randomUUID } from 'node:crypto'
import { PASSWORD_LENGTH, passwordProblem } from '../protocol/accounts.js'
import type { AdminEvent } from '../protocol/events.js'
import { DuplicateError, type UserChanges, type UserRecord } from '../protocol/store.js'
import { hashPassword, passwordHashProblem } from '../tokens/secrets.js'
import type { AdminContext } from './context.js'
import { conflict, invalidField, notFound } from './errors.js'

/** A user as the CLI's `--json` and the admin API show it. */
export interface UserJson {
  /** The OpenID `sub`. */
  id: string
  username: string
  name: string | null
  email: string | null
  email_verified: boolean
  disabled: boolean
  created_at: number
  updated_at: number
}

export function userJson(user: UserRecord): UserJson {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    email: user.email,
    email_verified: user.emailVerified,
    disabled: user.disabledAt !== null,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  }
}

/** A user named by id (the admin API) or by username (the CLI). */
export type UserRef = { id: string } | { username: string }

export interface NewUser {
  username: string
  password: string
  name?: string | null
  email?: string | null
  email_verified?: boolean
}

/** What `updateUser` may change (the admin API's PATCH); an absent field stays as it is. */
export interface UserUpdate {
  name?: string | null
  /** A new address is unverified unless `email_verified` says otherwise. */
  email?: string | null
  email_verified?: boolean
  /** Write only: replaces the password and ends the user's sessions. */
  password?: string
  disabled?: boolean
}

// The rules every way of making or changing a user follows (CLI, admin API, import).
const USERNAME = /^[\w.@+-]{1,64}$/
const EMAIL = /^[^\s@]+@[^\s@]+$/
// An id becomes the OpenID `sub`: printable ASCII without spaces, at most 255 characters (OIDC Core §2).
const USER_ID = /^[\x21-\x7e]{1,255}$/
const NAME_MAX = 200
const PAGE_MAX = 1000

function checkUsername(value: unknown, line?: number): string {
  if (typeof value !== 'string' || !USERNAME.test(value)) throw invalidField('username', 'username: 1 to 64 of A-Z a-z 0-9 _ . @ + -', line)
  return value
}

/** The rule of every password (`passwordProblem`, the account page's too); never echoes the password, whatever is wrong with it. */
function checkPassword(value: unknown): string {
  const problem = typeof value === 'string' ? passwordProblem(value) : 'too_short'
  if (problem === 'too_short') throw invalidField('password', `password: at least ${PASSWORD_LENGTH.min} characters`)
  if (problem === 'too_long') throw invalidField('password', `password: at most ${PASSWORD_LENGTH.max} characters`)
  return value as string
}

/** A name, or null to have none (an empty string is none). */
function checkName(value: unknown, line?: number): string | null {
  if (value === null || value === '') return null
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > NAME_MAX || /[\u0000-\u001f\u007f]/.test(value)) {
    throw invalidField('name', `name: a string of at most ${NAME_MAX} characters without control characters`, line)
  }
  return value
}

/** An address, or null to have none (an empty string is none). */
function checkEmail(value: unknown, line?: number): string | null {
  if (value === null || value === '') return null
  if (typeof value !== 'string' || value.length > 254 || !EMAIL.test(value)) throw invalidField('email', `email: not an email address: ${String(value).slice(0, 254)}`, line)
  return value
}

function checkFlag(field: string, value: unknown, line?: number): boolean {
  if (typeof value !== 'boolean') throw invalidField(field, `${field}: true or false`, line)
  return value
}

/** The user named, or `not_found`. */
export async function findUser(ctx: AdminContext, ref: UserRef): Promise<UserRecord> {
  const user = 'id' in ref ? await ctx.store.getUserById(ref.id) : await ctx.store.getUserByUsername(ref.username)
  if (user === undefined) throw notFound('user', 'id' in ref ? `with id ${ref.id}` : `named ${ref.username}`)
  return user
}

function emit(ctx: AdminContext, type: Extract<AdminEvent, { userId: string; clientId: null }>['type'], userId: string): void {
  ctx.events.emit({ type, actor: ctx.actor, clientId: null, userId })
}

/** Users in username order (byte order); `after` a username, `limit` 1 to 1000. */
export async function listUsers(ctx: AdminContext, page: { after?: string; limit?: number } = {}): Promise<UserJson[]> {
  if (page.limit !== undefined && (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > PAGE_MAX)) {
    throw invalidField('limit', `limit: a whole number from 1 to ${PAGE_MAX}`)
  }
  if (page.after !== undefined && typeof page.after !== 'string') throw invalidField('after', 'after: a username')
  return (await ctx.store.listUsers(page)).map(userJson)
}

export async function showUser(ctx: AdminContext, ref: UserRef): Promise<UserJson> {
  return userJson(await findUser(ctx, ref))
}

/** Adds a user with a password (hashed with scrypt); `conflict` when the username is taken. */
export async function createUser(ctx: AdminContext, input: NewUser): Promise<UserJson> {
  const username = checkUsername(input.username)
  const password = checkPassword(input.password)
  const name = checkName(input.name ?? null)
  const email = checkEmail(input.email ?? null)
  const emailVerified = input.email_verified === undefined ? false : checkFlag('email_verified', input.email_verified)
  const now = ctx.now()
  const user: UserRecord = {
    id: randomUUID(),
    username,
    passwordHash: await hashPassword(password),
    name,
    email,
    emailVerified,
    createdAt: now,
    updatedAt: now,
    disabledAt: null,
  }
  try {
    await ctx.store.createUser(user)
  } catch (error) {
    if (error instanceof DuplicateError) throw conflict(`a user named ${username} exists already`, 'username')
    throw error
  }
  emit(ctx, 'admin.user_created', user.id)
  return userJson(user)
}

/**
 * Changes what `update` gives, each change with its effect and its event: the profile
 * (`admin.user_updated`), the password (`admin.user_password_set`, the user's sessions end),
 * `disabled` (`admin.user_disabled`: sessions end and every grant is revoked; `admin.user_enabled`).
 * Every field is checked before anything is written.
 */
export async function updateUser(ctx: AdminContext, ref: UserRef, update: UserUpdate): Promise<UserJson> {
  const changes: UserChanges = {}
  if (update.name !== undefined) changes.name = checkName(update.name)
  if (update.email !== undefined) changes.email = checkEmail(update.email)
  if (update.email_verified !== undefined) changes.emailVerified = checkFlag('email_verified', update.email_verified)
  const password = update.password === undefined ? undefined : checkPassword(update.password)
  const disabled = update.disabled === undefined ? undefined : checkFlag('disabled', update.disabled)
  if (Object.keys(changes).length === 0 && password === undefined && disabled === undefined) {
    throw invalidField('user', 'nothing to change: give name, email, email_verified, password or disabled')
  }
  let user = await findUser(ctx, ref)
  if (changes.email !== undefined && changes.email !== user.email && changes.emailVerified === undefined) changes.emailVerified = false
  if (Object.keys(changes).length > 0) {
    user = (await ctx.store.updateUser(user.id, changes, ctx.now())) ?? gone(user)
    emit(ctx, 'admin.user_updated', user.id)
  }
  if (password !== undefined) user = await writePassword(ctx, user, password, undefined)
  if (disabled === true) user = await writeDisabled(ctx, user)
  if (disabled === false) user = await writeEnabled(ctx, user)
  return userJson(user)
}

/**
 * Replaces the password and ends every login session of the user but `keepSessionHash` (the
 * browser that changed it, on the account page).
 */
export async function setUserPassword(ctx: AdminContext, ref: UserRef, password: string, keepSessionHash?: string): Promise<UserJson> {
  const checked = checkPassword(password)
  return userJson(await writePassword(ctx, await findUser(ctx, ref), checked, keepSessionHash))
}

/** Disables the user at once: sessions end, every grant and token is revoked, sign-in fails as for a wrong password. */
export async function disableUser(ctx: AdminContext, ref: UserRef): Promise<UserJson> {
  return userJson(await writeDisabled(ctx, await findUser(ctx, ref)))
}

/** Lets a disabled user sign in again; what disabling revoked stays revoked. */
export async function enableUser(ctx: AdminContext, ref: UserRef): Promise<UserJson> {
  return userJson(await writeEnabled(ctx, await findUser(ctx, ref)))
}

/** Removes the user and everything of the user (sessions, consents, grants, codes, tokens), telling the apps it was signed in to (back-channel logout); returns who it was. */
export async function removeUser(ctx: AdminContext, ref: UserRef): Promise<UserJson> {
  const user = await findUser(ctx, ref)
  if (!(await ctx.store.deleteUser(user.id, ctx.now()))) gone(user)
  emit(ctx, 'admin.user_removed', user.id)
  return userJson(user)
}

async function writePassword(ctx: AdminContext, user: UserRecord, password: string, keepSessionHash: string | undefined): Promise<UserRecord> {
  const passwordHash = await hashPassword(password)
  const now = ctx.now()
  if (!(await ctx.store.setPassword(user.id, passwordHash, now, keepSessionHash))) gone(user)
  emit(ctx, 'admin.user_password_set', user.id)
  return { ...user, passwordHash, updatedAt: now }
}

async function writeDisabled(ctx: AdminContext, user: UserRecord): Promise<UserRecord> {
  const now = ctx.now()
  if (!(await ctx.store.disableUser(user.id, now))) gone(user)
  emit(ctx, 'admin.user_disabled', user.id)
  return { ...user, disabledAt: user.disabledAt ?? now }
}

async function writeEnabled(ctx: AdminContext, user: UserRecord): Promise<UserRecord> {
  if (!(await ctx.store.enableUser(user.id))) gone(user)
  emit(ctx, 'admin.user_enabled', user.id)
  return { ...user, disabledAt: null }
}

/** The user was removed between the read and the write (another administrator). */
function gone(user: UserRecord): never {
  throw notFound('user', `with id ${user.id}`)
}

// ---------------------------------------------------------------------------------------------
// import

const IMPORT_FIELDS = new Set(['username', 'password_hash', 'name', 'email', 'email_verified', 'id'])

/**
 * Imports users from JSON lines, one object per line: `username`, `password_hash` (scrypt as this
 * server makes it, bcrypt `$2a$`/`$2b$`/`$2y$`, or argon2id `$argon2id$`), and optionally `name`,
 * `email`, `email_verified`, `id` (kept as the OpenID `sub`; a new one otherwise). Blank lines are
 * skipped. All or nothing: any bad line, a username or id taken (in the file or already), and
 * nothing is imported. A hash that is not scrypt is replaced at the user's next sign-in.
 *
 * @returns how many users were imported, with their ids and usernames.
 */
export async function importUsers(ctx: AdminContext, text: string): Promise<{ imported: number; users: { id: string; username: string }[] }> {
  const now = ctx.now()
  const existing = await ctx.store.listUsers()
  const usernames = new Set(existing.map((user) => user.username))
  const ids = new Set(existing.map((user) => user.id))
  const users: UserRecord[] = []
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const line = i + 1
    if (raw.trim() === '') return
    const user = importedUser(raw, line, now)
    if (usernames.has(user.username)) throw conflict(`username: ${user.username} is taken`, 'username', line)
    if (ids.has(user.id)) throw conflict(`id: ${user.id} is taken`, 'id', line)
    usernames.add(user.username)
    ids.add(user.id)
    users.push(user)
  })
  if (users.length === 0) throw invalidField('file', 'no users to import: one JSON object per line')
  try {
    await ctx.store.importUsers(users)
  } catch (error) {
    // Another administrator took a username or id meanwhile: still nothing was imported.
    if (error instanceof DuplicateError) throw conflict('a username or id of the file was taken while importing; nothing was imported', 'username')
    throw error
  }
  ctx.events.emit({ type: 'admin.users_imported', actor: ctx.actor, clientId: null, userId: null, count: users.length })
  return { imported: users.length, users: users.map((user) => ({ id: user.id, username: user.username })) }
}

/** One line of an import as a user record; every problem names its line and field, never the hash. */
function importedUser(raw: string, line: number, now: number): UserRecord {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw invalidField('line', 'not a JSON object', line)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidField('line', 'not a JSON object', line)
  const record = parsed as Record<string, unknown>
  const unknown = Object.keys(record).filter((key) => !IMPORT_FIELDS.has(key))
  if (unknown.length > 0) throw invalidField(unknown[0] ?? '', `unknown field ${unknown.join(', ')} (known: ${[...IMPORT_FIELDS].join(', ')})`, line)
  const username = checkUsername(record.username, line)
  const hash = record.password_hash
  if (typeof hash !== 'string') throw invalidField('password_hash', 'password_hash: required, a string', line)
  const problem = passwordHashProblem(hash)
  if (problem !== undefined) throw invalidField('password_hash', `password_hash: ${problem}`, line)
  const id = record.id === undefined ? randomUUID() : record.id
  if (typeof id !== 'string' || !USER_ID.test(id)) throw invalidField('id', 'id: 1 to 255 printable ASCII characters without spaces', line)
  return {
    id,
    username,
    passwordHash: hash,
    name: checkName(record.name ?? null, line),
    email: checkEmail(record.email ?? null, line),
    emailVerified: record.email_verified === undefined ? false : checkFlag('email_verified', record.email_verified, line),
    createdAt: now,
    updatedAt: now,
    disabledAt: null,
  }
}
