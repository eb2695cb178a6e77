/**
 * Who may sign in, and what the server may say about them: the accounts, kept by an
 * {@link AccountProvider}. The built-in one, {@link StoreAccounts}, keeps them in the server's own
 * `users` table (what `authcode user …` manages); a team whose users live in its own database
 * passes its provider to `buildApp(config, { accounts })` (README, "Your own user store").
 *
 * The server's own records (login sessions, consents, grants, codes, tokens) name an account by its
 * id and point, in the database, at a row of `users` (foreign keys; the token endpoint reads that
 * row with the code or refresh token, in one read). An account of another provider therefore gets
 * a minimal row there, its *mirror*: the id, the username, a password hash that matches no
 * password, no profile, and `disabled_at` mirrored. The mirror is made or refreshed at each sign-in
 * the provider allows ({@link mirrorAccount}), and disabled as soon as the server finds the account
 * disabled or gone ({@link liveAccount}): that ends its login sessions and revokes its grants at
 * once, as disabling a built-in user does, so its refresh tokens are `invalid_grant`, its access
 * tokens inactive and refused at UserInfo. Claims are always read from the provider, never from the
 * mirror.
 */
import type { UserRecord, UserStore } from './store.js'
import { dummyPasswordHash, hashPassword, passwordHashProblem, passwordNeedsRehash, verifyPassword } from '../tokens/secrets.js'

/** An account as its provider keeps it. */
export interface Account {
  /** The OpenID `sub`: stable, opaque, never reassigned; 1 to 255 printable ASCII characters (OIDC Core §2). */
  readonly id: string
  /** What the user signs in with (and `preferred_username`, unless the claims say otherwise). */
  readonly username: string
  /** True while the account may not be used: it then counts as unknown everywhere. */
  readonly disabled: boolean
}

/**
 * The standard claims (OIDC Core §5.1) the server gives out about an account: at UserInfo, with
 * the `profile` scope `preferred_username`, `name` and `updated_at`, with `email` the address and
 * whether it was verified. Absent claims are not given out.
 */
export interface AccountClaims {
  /** The account's username when absent. */
  readonly preferred_username?: string
  readonly name?: string
  readonly email?: string
  readonly email_verified?: boolean
  /** Seconds since the epoch when the profile last changed. */
  readonly updated_at?: number
}

/**
 * Where the server finds accounts. Every method may be called concurrently, on any instance; none
 * may throw for an unknown account (answer undefined) and none counts attempts or locks accounts:
 * the server throttles sign-ins itself, before it asks (SECURITY.md 7, 27).
 */
export interface AccountProvider {
  /** The account with this id, disabled or not; undefined when there is none (any more). */
  findById(id: string): Promise<Account | undefined>
  /**
   * The account this username names, compared the provider's way (the built-in store compares
   * byte for byte). The server asks before each sign-in, so that however a name is typed its
   * failures count against one account.
   */
  findByUsername(username: string): Promise<Account | undefined>
  /**
   * The account named `username` when `password` is its password, else undefined. It must take as
   * long for an unknown username as for a wrong password (check against a dummy hash), so the
   * answer's timing does not tell who has an account. A disabled account may be returned (the
   * server refuses it after the same work) or not.
   *
   * @param now seconds since the epoch, for what the provider records (a rehash)
   */
  verifyPassword(username: string, password: string, now: number): Promise<Account | undefined>
  /** What the server may say about the account (UserInfo, the pages). */
  claims(account: Account): Promise<AccountClaims>
  /**
   * Replaces the account's password: the account page's "Change password", after the current one
   * was verified and the new one checked against {@link passwordProblem}. Without it, the account
   * page offers no password change. False when the account is gone.
   */
  setPassword?(id: string, password: string, now: number): Promise<boolean>
}

/** What the account steps read and write: the provider, and the store that keeps the records and the mirrors. */
export interface AccountDeps {
  accounts: AccountProvider
  store: UserStore
}

/** The name the pages call an account by: its `name` claim, else its username. */
export async function displayName(accounts: AccountProvider, account: Account): Promise<string> {
  return (await accounts.claims(account)).name ?? account.username
}

// ---------------------------------------------------------------------------------------------
// Passwords

/** The rule every new password obeys, wherever it is set (`authcode user`, the admin API, the account page). */
export const PASSWORD_LENGTH = Object.freeze({ min: 8, max: 1024 })

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): 'too_short' | 'too_long' | undefined {
  if (password.length < PASSWORD_LENGTH.min) return 'too_short'
  if (password.length > PASSWORD_LENGTH.max) return 'too_long'
  return undefined
}

// ---------------------------------------------------------------------------------------------
// The built-in provider

/** A mirror's password hash: not a hash of any scheme (`tokens/secrets.ts`), so no password matches it. */
export const MIRROR_PASSWORD_HASH = '!mirror'

/**
 * The built-in provider: the accounts are the rows of `users` themselves. A password is checked
 * against the row's hash (scrypt, or bcrypt and argon2id imported by `authcode user import`), and
 * a hash made with other parameters or another scheme is replaced by today's scrypt at the first
 * sign-in that proves the password (SECURITY.md 7).
 */
export class StoreAccounts implements AccountProvider {
  readonly #store: UserStore
  /** The row each account was read from, so its claims need no second read. */
  readonly #rows = new WeakMap<Account, UserRecord>()

  constructor(store: UserStore) {
    this.#store = store
  }

  #account(user: UserRecord | undefined): Account | undefined {
    if (user === undefined) return undefined
    const account: Account = Object.freeze({ id: user.id, username: user.username, disabled: user.disabledAt !== null })
    this.#rows.set(account, user)
    return account
  }

  async findById(id: string): Promise<Account | undefined> {
    return this.#account(await this.#store.getUserById(id))
  }

  /** Byte for byte (SECURITY.md 27): `Alice` and `alice` are two usernames. */
  async findByUsername(username: string): Promise<Account | undefined> {
    return this.#account(await this.#store.getUserByUsername(username))
  }

  async verifyPassword(username: string, password: string, now: number): Promise<Account | undefined> {
    const user = await this.#store.getUserByUsername(username)
    // An unknown user, and a row whose hash no password matches (a mirror), cost a full hash too.
    const usable = user !== undefined && passwordHashProblem(user.passwordHash) === undefined
    const valid = await verifyPassword(password, usable ? user.passwordHash : await dummyPasswordHash())
    if (!usable || !valid) return undefined
    if (user.disabledAt === null && passwordNeedsRehash(user.passwordHash)) {
      // Compare-and-set: a password changed meanwhile is never overwritten.
      await this.#store.updatePasswordHash(user.id, user.passwordHash, await hashPassword(password), now)
    }
    return this.#account(user)
  }

  async claims(account: Account): Promise<AccountClaims> {
    const user = this.#rows.get(account) ?? (await this.#store.getUserById(account.id))
    if (user === undefined) return {}
    return {
      preferred_username: user.username,
      ...(user.name === null ? {} : { name: user.name }),
      ...(user.email === null ? {} : { email: user.email, email_verified: user.emailVerified }),
      updated_at: user.updatedAt,
    }
  }
}

/**
 * True when the provider is the built-in store: its accounts are the rows themselves, so a row read
 * with a record (the token endpoint's join, a login session's check of `disabled_at`) is already
 * the account's current state, and disabling it did everything disabling does.
 */
export const keepsOwnRows = (accounts: AccountProvider): boolean => accounts instanceof StoreAccounts

// ---------------------------------------------------------------------------------------------
// Mirrors of another provider's accounts

/** Makes or refreshes the mirror of an account another provider just let sign in (not for the built-in store). */
export async function mirrorAccount(deps: AccountDeps, account: Account, now: number): Promise<void> {
  if (keepsOwnRows(deps.accounts)) return
  await deps.store.mirrorAccount({ id: account.id, username: account.username, passwordHash: MIRROR_PASSWORD_HASH }, now)
}

/**
 * The account `userId` names while it may still be used; undefined when it is disabled or gone.
 * For another provider's account found disabled or gone, its mirror is disabled at once (the first
 * time): its login sessions end and its grants are revoked, queueing the back-channel logouts of
 * those sessions, as for a disabled built-in user.
 */
export async function liveAccount(deps: AccountDeps, userId: string, now: number): Promise<Account | undefined> {
  const account = await deps.accounts.findById(userId)
  if (account !== undefined && !account.disabled) return account
  if (!keepsOwnRows(deps.accounts)) await deps.store.disableUser(userId, now)
  return undefined
}

/**
 * Whether the account behind a live record (a code, a refresh or access token) may still be used.
 * `user` is the record's user row when it was read with it (the token endpoint's join), which must
 * not be disabled; or the user's id, for a record that disabling would have revoked (an access
 * token). For the built-in store that is all; another provider's account is asked
 * ({@link liveAccount}: found disabled or gone, its mirror is disabled).
 */
export async function accountStillLive(deps: AccountDeps, user: UserRecord | string, now: number): Promise<boolean> {
  if (typeof user !== 'string' && user.disabledAt !== null) return false
  if (keepsOwnRows(deps.accounts)) return true
  return (await liveAccount(deps, typeof user === 'string' ? user : user.id, now)) !== undefined
}
