/**
 * `Store` over any Kysely dialect. Only the query builder, `RETURNING`, `ON CONFLICT` and
 * transactions are used, so SQLite and PostgreSQL share this code and its test suite.
 *
 * Atomic steps are one conditional statement (`UPDATE … WHERE <still valid> RETURNING`, an upsert)
 * or a transaction that starts with one: that statement's `WHERE` decides who wins a race.
 */
import { PostgresAdapter, sql, type DeleteResult, type Expression, type Kysely, type Transaction, type Updateable } from 'kysely'
import {
  DuplicateError,
  type AccessTokenRecord,
  type AccountMirror,
  type AdminTokenRecord,
  type ClientChanges,
  type UserChanges,
  type UserPage,
  type AttemptLimit,
  type Reservation,
  type ClientRecord,
  type CodeRecord,
  type AppAccess,
  type ConsentRecord,
  type GrantRecord,
  type InteractionRecord,
  type InteractionState,
  type InteractionTransition,
  type IssuedTokens,
  type LoginSessionRecord,
  type PurgeResult,
  LOGOUT_QUEUE_LIMIT,
  type LogoutDeliveryRecord,
  type PasskeyRecord,
  type SignedInApp,
  type SignOutResult,
  type PushedRequestRecord,
  type RefreshTokenRecord,
  type RegistrationTokenRecord,
  type SigningKeyRecord,
  type Store,
  type UserRecord,
  type WithGrant,
} from '../protocol/store.js'
import type { Database } from './database.js'
import { migrateToLatest } from './migrate.js'
import * as queries from './queries.js'
import {
  SAMPLE_ROWS,
  adminTokenRow,
  clientRow,
  flag,
  toAdminToken,
  registrationTokenRow,
  toRegistrationToken,
  codeRow,
  grantRow,
  interactionRow,
  list,
  loginSessionRow,
  nullableNumber,
  parseList,
  passkeyRow,
  toPasskey,
  signingKeyRow,
  toAccessToken,
  toClient,
  toCode,
  toConsent,
  toGrant,
  toInteraction,
  toLoginSession,
  toLogoutDelivery,
  toRefreshToken,
  toSigningKey,
  toUser,
  userRow,
  type Row,
} from './rows.js'
import { spendThenIssue, type SpendThenIssueStatements } from './spend-then-issue.js'

/**
 * Migrates `db` to the latest schema and wraps it in a `SqlStore` (or the subclass `createStore`
 * makes); destroys `db` when migrating fails.
 *
 * @example
 * const { store, migrated } = await openMigratedStore(new Kysely<Database>({ dialect }))
 */
export async function openMigratedStore<S extends SqlStore = SqlStore>(
  db: Kysely<Database>,
  createStore: (db: Kysely<Database>) => S = (migrated) => new SqlStore(migrated) as S,
): Promise<{ store: S; migrated: string[] }> {
  try {
    const { applied } = await migrateToLatest(db)
    return { store: createStore(db), migrated: applied }
  } catch (error) {
    await db.destroy()
    throw error
  }
}

export class SqlStore implements Store {
  readonly #db: Kysely<Database>
  /** The queries on every login's path, compiled once (`queries.ts`). */
  protected readonly hot: queries.HotQueries

  readonly #redeem: SpendThenIssueStatements<queries.CompiledTemplate>
  readonly #rotate: SpendThenIssueStatements<queries.CompiledTemplate>

  /** `db` must be migrated to the latest schema (`migrateToLatest`); the store owns it from now on. */
  constructor(db: Kysely<Database>) {
    this.#db = db
    this.hot = queries.compileHotQueries(db, SAMPLE_ROWS)
    const { consumeCode, rotateRefreshToken, insertAccessToken, insertRefreshToken } = this.hot
    this.#redeem = { spend: consumeCode, insertAccessToken, insertRefreshToken }
    this.#rotate = { spend: rotateRefreshToken, insertAccessToken, insertRefreshToken }
  }

  // clients

  async createClient(client: ClientRecord): Promise<void> {
    await unique(`client ${client.clientId}`, this.#db.insertInto('clients').values(clientRow(client)).execute())
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = await first<Row<'clients'>>(this.#db, this.hot.clientById, [clientId])
    return row && toClient(row)
  }

  async listClients(): Promise<ClientRecord[]> {
    const rows = await this.#db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('client_id').execute()
    return rows.map(toClient)
  }

  /** Foreign keys cascade to the client's interactions, consents, grants, codes and tokens. */
  async deleteClient(clientId: string): Promise<boolean> {
    const { numDeletedRows } = await this.#db.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst()
    return numDeletedRows > 0n
  }

  async updateClient(clientId: string, changes: ClientChanges): Promise<ClientRecord | undefined> {
    const set: Updateable<Database['clients']> = {}
    if (changes.name !== undefined) set.name = changes.name
    if (changes.redirectUris !== undefined) set.redirect_uris = list(changes.redirectUris)
    if (changes.scopes !== undefined) set.scopes = list(changes.scopes)
    if (changes.postLogoutRedirectUris !== undefined) set.post_logout_redirect_uris = list(changes.postLogoutRedirectUris)
    if (changes.backchannelLogoutUri !== undefined) set.backchannel_logout_uri = changes.backchannelLogoutUri
    if (changes.webOrigins !== undefined) set.web_origins = list(changes.webOrigins)
    if (changes.grantTypes !== undefined) set.grant_types = list(changes.grantTypes)
    if (changes.idTokenSignedResponseAlg !== undefined) set.id_token_signed_response_alg = changes.idTokenSignedResponseAlg
    if (changes.tokenEndpointAuthMethod !== undefined) set.token_endpoint_auth_method = changes.tokenEndpointAuthMethod
    if (changes.requirePushedAuthorizationRequests !== undefined) set.require_pushed_authorization_requests = flag(changes.requirePushedAuthorizationRequests)
    if (changes.dpopBoundAccessTokens !== undefined) set.dpop_bound_access_tokens = flag(changes.dpopBoundAccessTokens)
    return this.#db.transaction().execute(async (trx) => {
      const row =
        Object.keys(set).length === 0
          ? await trx.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst()
          : await trx.updateTable('clients').set(set).where('client_id', '=', clientId).returningAll().executeTakeFirst()
      if (row === undefined) return undefined
      const { redirectUris } = changes
      if (redirectUris !== undefined) {
        await trx.deleteFrom('interactions').where('client_id', '=', clientId).execute()
        let codes = trx.deleteFrom('authorization_codes').where('client_id', '=', clientId).where('consumed_at', 'is', null)
        if (redirectUris.length > 0) codes = codes.where('redirect_uri', 'not in', redirectUris)
        await codes.execute()
      }
      return toClient(row)
    })
  }

  async countDynamicallyRegisteredClients(): Promise<number> {
    const row = await this.#db.selectFrom('clients').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).where('registered_dynamically', '=', 1).executeTakeFirst()
    return Number(row?.n ?? 0)
  }

  /** `SET` sees the row as it was, so the replaced secret is the old `secret_hash`. */
  async rotateClientSecret(clientId: string, secretHash: string, previousExpiresAt: number | null): Promise<boolean> {
    const { numUpdatedRows } = await this.#db
      .updateTable('clients')
      .set((eb) => ({
        secret_hash: secretHash,
        previous_secret_hash: previousExpiresAt === null ? null : eb.ref('secret_hash'),
        previous_secret_expires_at: previousExpiresAt,
      }))
      .where('client_id', '=', clientId)
      .where('secret_hash', 'is not', null)
      .executeTakeFirst()
    return numUpdatedRows > 0n
  }

  // users

  async createUser(user: UserRecord): Promise<void> {
    await unique(`user ${user.username}`, this.#db.insertInto('users').values(userRow(user)).execute())
  }

  async getUserById(id: string): Promise<UserRecord | undefined> {
    const row = await first<Row<'users'>>(this.#db, this.hot.userById, [id])
    return row && toUser(row)
  }

  async getUserByUsername(username: string): Promise<UserRecord | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()
    return row && toUser(row)
  }

  async updatePasswordHash(userId: string, expected: string, passwordHash: string, now: number): Promise<boolean> {
    const { numUpdatedRows } = await this.#db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', userId)
      .where('password_hash', '=', expected)
      .executeTakeFirst()
    return numUpdatedRows > 0n
  }

  async listUsers(page: UserPage = {}): Promise<UserRecord[]> {
    const username = this.#byteOrder(sql.ref('username'))
    let query = this.#db.selectFrom('users').selectAll().orderBy(username)
    if (page.after !== undefined) query = query.where(username, '>', this.#byteOrder(sql.val(page.after)))
    if (page.limit !== undefined) query = query.limit(page.limit)
    return (await query.execute()).map(toUser)
  }

  /** Usernames in byte order, as they are compared: SQLite's default (BINARY); PostgreSQL's `C` collation. */
  #byteOrder(value: Expression<unknown>): Expression<string> {
    return this.#db.getExecutor().adapter instanceof PostgresAdapter ? sql<string>`${value} collate "C"` : sql<string>`${value}`
  }

  async updateUser(userId: string, changes: UserChanges, now: number): Promise<UserRecord | undefined> {
    const set: Updateable<Database['users']> = { updated_at: now }
    if (changes.name !== undefined) set.name = changes.name
    if (changes.email !== undefined) set.email = changes.email
    if (changes.emailVerified !== undefined) set.email_verified = flag(changes.emailVerified)
    const row = await this.#db.updateTable('users').set(set).where('id', '=', userId).returningAll().executeTakeFirst()
    return row && toUser(row)
  }

  async setPassword(userId: string, passwordHash: string, now: number, keepSessionHash?: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const { numUpdatedRows } = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', userId)
        .executeTakeFirst()
      if (numUpdatedRows === 0n) return false
      let sessions = trx.deleteFrom('login_sessions').where('user_id', '=', userId)
      if (keepSessionHash !== undefined) sessions = sessions.where('id_hash', '!=', keepSessionHash)
      await queueLogouts(trx, await sessions.returning('sid').execute(), now)
      return true
    })
  }

  /** One transaction that starts with the mark; the sessions go, and the grants as in `revokeGrant`. */
  async disableUser(userId: string, now: number): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const user = await trx
        .updateTable('users')
        .set((eb) => ({ disabled_at: eb.fn.coalesce('disabled_at', sql.val(now)).$castTo<number>() }))
        .where('id', '=', userId)
        .returning('id')
        .executeTakeFirst()
      if (user === undefined) return false
      await queueLogouts(trx, await trx.deleteFrom('login_sessions').where('user_id', '=', userId).returning('sid').execute(), now)
      await revokeGrantsOfUser(trx, userId, now)
      return true
    })
  }

  async enableUser(userId: string): Promise<boolean> {
    const { numUpdatedRows } = await this.#db.updateTable('users').set({ disabled_at: null }).where('id', '=', userId).executeTakeFirst()
    return numUpdatedRows > 0n
  }

  /**
   * One transaction: the sessions go first, queueing their logouts while the grants that name their
   * `sid` still exist; then foreign keys cascade to the user's interactions, consents, grants, codes
   * and tokens.
   */
  async deleteUser(userId: string, now: number): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      await queueLogouts(trx, await trx.deleteFrom('login_sessions').where('user_id', '=', userId).returning('sid').execute(), now)
      const { numDeletedRows } = await trx.deleteFrom('users').where('id', '=', userId).executeTakeFirst()
      return numDeletedRows > 0n
    })
  }

  /** One transaction, in batches that stay under every driver's limit of parameters per statement. */
  async importUsers(users: UserRecord[]): Promise<void> {
    if (users.length === 0) return
    await unique(
      'user',
      this.#db.transaction().execute(async (trx) => {
        for (let i = 0; i < users.length; i += IMPORT_BATCH) {
          await trx.insertInto('users').values(users.slice(i, i + IMPORT_BATCH).map(userRow)).execute()
        }
      }),
    )
  }

  /**
   * One transaction: the username is freed from any other row first, then one upsert on the id, so
   * two first sign-ins of an account at once end in one row.
   */
  async mirrorAccount(mirror: AccountMirror, now: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ username: sql<string>`'~' || id` })
        .where('username', '=', mirror.username)
        .where('id', '!=', mirror.id)
        .execute()
      await trx
        .insertInto('users')
        .values(userRow({ ...mirror, name: null, email: null, emailVerified: false, createdAt: now, updatedAt: now, disabledAt: null }))
        .onConflict((conflict) => conflict.column('id').doUpdateSet({ username: mirror.username, password_hash: mirror.passwordHash, disabled_at: null }))
        .execute()
    })
  }

  // login sessions

  async createLoginSession(session: LoginSessionRecord): Promise<void> {
    await unique('login session', this.#db.insertInto('login_sessions').values(loginSessionRow(session)).execute())
  }

  async getLoginSession(idHash: string, now: number): Promise<LoginSessionRecord | undefined> {
    const row = await first<Row<'login_sessions'>>(this.#db, this.hot.liveLoginSession, [idHash, now])
    return row && toLoginSession(row)
  }

  async deleteBrowserSessions(browserHash: string | undefined, idHash: string | undefined): Promise<void> {
    await deleteSessionsOf(this.#db, browserHash, idHash)
  }

  async signOutBrowser(browserHash: string | undefined, idHash: string | undefined, now: number): Promise<SignOutResult> {
    return this.#db.transaction().execute(async (trx) => {
      const sessions = await deleteSessionsOf(trx, browserHash, idHash)
      if (browserHash !== undefined) await trx.deleteFrom('interactions').where('browser_hash', '=', browserHash).execute()
      const { queued, dropped } = await queueLogouts(trx, sessions, now)
      return { sessions: sessions.map(toEndedSession), logoutsQueued: queued, logoutsDropped: dropped }
    })
  }

  async listSignedInApps(sid: string): Promise<SignedInApp[]> {
    const rows = await this.#db
      .selectFrom('grants')
      .innerJoin('clients', 'clients.client_id', 'grants.client_id')
      .select(['clients.client_id', 'clients.name'])
      .distinct()
      .where('grants.sid', '=', sid)
      .where('grants.revoked_at', 'is', null)
      .orderBy('clients.name')
      .orderBy('clients.client_id')
      .execute()
    return rows.map((row) => ({ clientId: row.client_id, clientName: row.name }))
  }

  async listUserSessions(userId: string, now: number): Promise<LoginSessionRecord[]> {
    const rows = await this.#db
      .selectFrom('login_sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .orderBy('auth_time', 'desc')
      .orderBy('id_hash')
      .execute()
    return rows.map(toLoginSession)
  }

  async signOutUser(userId: string, now: number, keepSessionHash?: string): Promise<SignOutResult> {
    return this.#db.transaction().execute(async (trx) => {
      let ended = trx.deleteFrom('login_sessions').where('user_id', '=', userId)
      if (keepSessionHash !== undefined) ended = ended.where('id_hash', '!=', keepSessionHash)
      const sessions = await ended.returning(['user_id', 'sid']).execute()
      const { queued, dropped } = await queueLogouts(trx, sessions, now)
      return { sessions: sessions.map(toEndedSession), logoutsQueued: queued, logoutsDropped: dropped }
    })
  }

  // back-channel logouts (OpenID Back-Channel Logout §2.5)

  /**
   * A read of the candidates, then one conditional UPDATE each: whoever's UPDATE still finds it due
   * has claimed it, so of two instances racing for a delivery exactly one gets it.
   */
  async claimLogoutDeliveries(now: number, lease: number, limit: number): Promise<LogoutDeliveryRecord[]> {
    const due = await this.#db
      .selectFrom('logout_deliveries')
      .select(['sid', 'client_id'])
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('created_at')
      .limit(limit)
      .execute()
    const claimed: LogoutDeliveryRecord[] = []
    for (const { sid, client_id } of due) {
      const row = await this.#db
        .updateTable('logout_deliveries')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: now + lease }))
        .where('sid', '=', sid)
        .where('client_id', '=', client_id)
        .where('next_attempt_at', '<=', now)
        .returningAll()
        .executeTakeFirst()
      if (row !== undefined) claimed.push(toLogoutDelivery(row))
    }
    return claimed
  }

  async deleteLogoutDelivery(sid: string, clientId: string): Promise<void> {
    await this.#db.deleteFrom('logout_deliveries').where('sid', '=', sid).where('client_id', '=', clientId).execute()
  }

  async retryLogoutDelivery(sid: string, clientId: string, attempts: number, nextAttemptAt: number): Promise<void> {
    await this.#db
      .updateTable('logout_deliveries')
      .set({ next_attempt_at: nextAttemptAt })
      .where('sid', '=', sid)
      .where('client_id', '=', clientId)
      .where('attempts', '=', attempts)
      .execute()
  }

  async nextLogoutDeliveryAt(): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('logout_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .executeTakeFirst()
    return row?.next === null || row?.next === undefined ? undefined : Number(row.next)
  }

  // interactions

  async createInteraction(interaction: InteractionRecord): Promise<void> {
    await unique('interaction', this.#db.insertInto('interactions').values(interactionRow(interaction)).execute())
  }

  async getInteraction(id: string, now: number): Promise<InteractionRecord | undefined> {
    const row = await this.#db
      .selectFrom('interactions')
      .selectAll()
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .executeTakeFirst()
    return row && toInteraction(row)
  }

  async transitionInteraction(
    id: string,
    from: readonly InteractionState[],
    to: InteractionTransition,
    now: number,
  ): Promise<InteractionRecord | undefined> {
    if (from.length === 0) return undefined
    const set: Updateable<Database['interactions']> = { state: to.state }
    if (to.userId !== undefined) set.user_id = to.userId
    if (to.authTime !== undefined) set.auth_time = to.authTime
    if (to.sessionHash !== undefined) set.session_hash = to.sessionHash
    const row = await this.#db
      .updateTable('interactions')
      .set(set)
      .where('id', '=', id)
      .where('state', 'in', from)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst()
    return row && toInteraction(row)
  }

  // consents

  async getConsent(userId: string, clientId: string): Promise<ConsentRecord | undefined> {
    const row = await first<Row<'consents'>>(this.#db, this.hot.consentOf, [userId, clientId])
    return row && toConsent(row)
  }

  /**
   * Compare-and-set without locks: insert when absent, else replace the scopes only if they are
   * still the ones just read. Losing means another save changed the row: read it again and retry.
   */
  async saveConsent(userId: string, clientId: string, scopes: string[], now: number): Promise<void> {
    for (;;) {
      const current = await this.getConsent(userId, clientId)
      const saved =
        current === undefined
          ? await this.#db
              .insertInto('consents')
              .values({ user_id: userId, client_id: clientId, scopes: list(union(scopes)), created_at: now, updated_at: now })
              .onConflict((conflict) => conflict.columns(['user_id', 'client_id']).doNothing())
              .returning('user_id')
              .executeTakeFirst()
          : await this.#db
              .updateTable('consents')
              .set({ scopes: list(union(current.scopes, scopes)), updated_at: now })
              .where('user_id', '=', userId)
              .where('client_id', '=', clientId)
              .where('scopes', '=', list(current.scopes))
              .returning('user_id')
              .executeTakeFirst()
      if (saved !== undefined) return
    }
  }

  /**
   * Two reads: the clients with a consent or a live grant (name, consent, last issue times by
   * correlated `max()` subqueries), then the live grants' scopes for the apps without a consent.
   */
  async listAppsWithAccess(userId: string): Promise<AppAccess[]> {
    const liveGrants = this.#db.selectFrom('grants').where('grants.user_id', '=', userId).where('grants.revoked_at', 'is', null)
    const rows = await this.#db
      .selectFrom('clients')
      .leftJoin('consents', (join) => join.onRef('consents.client_id', '=', 'clients.client_id').on('consents.user_id', '=', userId))
      .select((eb) => [
        'clients.client_id as client_id',
        'clients.name as client_name',
        'consents.scopes as consent_scopes',
        'consents.created_at as consented_at',
        eb
          .selectFrom('grants')
          .select((sub) => sub.fn.min('grants.created_at').as('created_at'))
          .where('grants.user_id', '=', userId)
          .where('grants.revoked_at', 'is', null)
          .whereRef('grants.client_id', '=', 'clients.client_id')
          .as('first_grant'),
        eb
          .selectFrom('access_tokens')
          .select((sub) => sub.fn.max('access_tokens.created_at').as('created_at'))
          .where('access_tokens.user_id', '=', userId)
          .whereRef('access_tokens.client_id', '=', 'clients.client_id')
          .as('last_access_token'),
        eb
          .selectFrom('refresh_tokens')
          .select((sub) => sub.fn.max('refresh_tokens.created_at').as('created_at'))
          .where('refresh_tokens.user_id', '=', userId)
          .whereRef('refresh_tokens.client_id', '=', 'clients.client_id')
          .as('last_refresh_token'),
      ])
      .where((eb) => eb.or([eb('consents.user_id', 'is not', null), eb('clients.client_id', 'in', liveGrants.select('grants.client_id'))]))
      .execute()
    const withoutConsent = rows.filter((row) => row.consent_scopes === null).map((row) => row.client_id)
    const grantScopes = new Map<string, string[]>()
    if (withoutConsent.length > 0) {
      for (const grant of await liveGrants.select(['grants.client_id', 'grants.scopes']).where('grants.client_id', 'in', withoutConsent).execute()) {
        grantScopes.set(grant.client_id, union(grantScopes.get(grant.client_id) ?? [], parseList(grant.scopes)))
      }
    }
    return rows
      .map((row): AppAccess => {
        const issued = [row.last_access_token, row.last_refresh_token].map(nullableNumber).filter((t) => t !== null)
        const consented = row.consent_scopes !== null
        return {
          userId,
          clientId: row.client_id,
          clientName: row.client_name,
          scopes: consented ? parseList(row.consent_scopes as string) : (grantScopes.get(row.client_id) ?? []).toSorted(),
          since: Number(consented ? row.consented_at : row.first_grant),
          consented,
          lastIssuedAt: issued.length === 0 ? null : Math.max(...issued),
        }
      })
      .sort((a, b) => a.since - b.since || (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
  }

  /** One transaction that starts with the consent's deletion; the grants go as in `revokeGrant`. */
  async revokeConsent(userId: string, clientId: string, now: number): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const consent = await trx
        .deleteFrom('consents')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      const grants = await trx
        .updateTable('grants')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      await trx
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('grant_id', 'in', trx.selectFrom('grants').select('id').where('user_id', '=', userId).where('client_id', '=', clientId))
        .where('revoked_at', 'is', null)
        .execute()
      return consent.numDeletedRows > 0n || grants.numUpdatedRows > 0n
    })
  }

  // grants, codes and tokens

  async createGrantWithCode(grant: GrantRecord, code: CodeRecord): Promise<void> {
    await unique(
      'grant or authorization code',
      this.#db.transaction().execute(async (trx) => {
        await trx.executeQuery(queries.bind(this.hot.insertGrant, Object.values(grantRow(grant))))
        await trx.executeQuery(queries.bind(this.hot.insertCode, Object.values(codeRow(code))))
      }),
    )
  }

  async getGrant(id: string): Promise<GrantRecord | undefined> {
    const row = await first<Row<'grants'>>(this.#db, this.hot.grantById, [id])
    return row && toGrant(row)
  }

  /**
   * Marks the grant and its access tokens revoked (a first revocation time stays). Codes and
   * refresh tokens need no mark: `redeemCode` and `rotateRefreshToken` check the grant.
   */
  async revokeGrant(id: string, now: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('grants').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute()
      await trx
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('grant_id', '=', id)
        .where('revoked_at', 'is', null)
        .execute()
    })
  }

  async getCode(codeHash: string): Promise<CodeRecord | undefined> {
    const row = await first<Row<'authorization_codes'>>(this.#db, this.hot.codeByHash, [codeHash])
    return row && toCode(row)
  }

  async getCodeWithGrant(codeHash: string): Promise<WithGrant<{ code: CodeRecord }> | undefined> {
    const code = await this.getCode(codeHash)
    return code && this.#withGrant({ code }, code)
  }

  /** `item` with its grant and user, or undefined when either is gone (they cascade, so only in a race). */
  async #withGrant<T extends object>(item: T, { grantId, userId }: { grantId: string; userId: string }): Promise<WithGrant<T> | undefined> {
    const [grant, user] = await Promise.all([this.getGrant(grantId), this.getUserById(userId)])
    return grant && user && { ...item, grant, user }
  }

  redeemCode(codeHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    return this.#spendThenIssue(this.#redeem, codeHash, now, tokens)
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await first<Row<'refresh_tokens'>>(this.#db, this.hot.refreshTokenByHash, [tokenHash])
    return row && toRefreshToken(row)
  }

  async getRefreshTokenWithGrant(tokenHash: string): Promise<WithGrant<{ token: RefreshTokenRecord }> | undefined> {
    const token = await this.getRefreshToken(tokenHash)
    return token && this.#withGrant({ token }, token)
  }

  rotateRefreshToken(tokenHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    return this.#spendThenIssue(this.#rotate, tokenHash, now, tokens)
  }

  async getAccessToken(jti: string): Promise<AccessTokenRecord | undefined> {
    const row = await first<Row<'access_tokens'>>(this.#db, this.hot.accessTokenByJti, [jti])
    return row && toAccessToken(row)
  }

  /** Idempotent: a first revocation time stays. */
  async revokeAccessToken(jti: string, now: number): Promise<void> {
    await this.#db
      .updateTable('access_tokens')
      .set({ revoked_at: now })
      .where('jti', '=', jti)
      .where('revoked_at', 'is', null)
      .execute()
  }

  // signing keys

  /** Oldest first. */
  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.#db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()
    return rows.map(toSigningKey)
  }

  /** One statement: all the keys or none. */
  async insertSigningKeys(keys: SigningKeyRecord[]): Promise<void> {
    if (keys.length === 0) return
    await unique('signing key', this.#db.insertInto('signing_keys').values(keys.map(signingKeyRow)).execute())
  }

  async deleteSigningKeys(kids: string[]): Promise<void> {
    if (kids.length === 0) return
    await this.#db.deleteFrom('signing_keys').where('kid', 'in', kids).execute()
  }

  async retireSigningKey(kid: string, now: number): Promise<boolean> {
    const { numUpdatedRows } = await this.#db
      .updateTable('signing_keys')
      .set({ retired_at: now })
      .where('kid', '=', kid)
      .where('retired_at', 'is', null)
      .executeTakeFirst()
    return numUpdatedRows > 0n
  }

  // admin tokens

  async createAdminToken(token: AdminTokenRecord): Promise<void> {
    await unique(`admin token ${token.name}`, this.#db.insertInto('admin_tokens').values(adminTokenRow(token)).execute())
  }

  async listAdminTokens(): Promise<AdminTokenRecord[]> {
    const rows = await this.#db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toAdminToken)
  }

  async getAdminTokenByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    const row = await this.#db.selectFrom('admin_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
    return row && toAdminToken(row)
  }

  async markAdminTokenUsed(id: string, now: number): Promise<void> {
    await this.#db.updateTable('admin_tokens').set({ last_used_at: now }).where('id', '=', id).execute()
  }

  async revokeAdminToken(id: string, now: number): Promise<boolean> {
    const { numUpdatedRows } = await this.#db
      .updateTable('admin_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return numUpdatedRows > 0n
  }

  // initial access tokens of dynamic client registration (RFC 7591 §1.2)

  async createRegistrationToken(token: RegistrationTokenRecord): Promise<void> {
    await unique(`registration token ${token.name}`, this.#db.insertInto('registration_tokens').values(registrationTokenRow(token)).execute())
  }

  async listRegistrationTokens(): Promise<RegistrationTokenRecord[]> {
    const rows = await this.#db.selectFrom('registration_tokens').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toRegistrationToken)
  }

  async getRegistrationTokenByHash(tokenHash: string): Promise<RegistrationTokenRecord | undefined> {
    const row = await this.#db.selectFrom('registration_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
    return row && toRegistrationToken(row)
  }

  async markRegistrationTokenUsed(id: string, now: number): Promise<void> {
    await this.#db.updateTable('registration_tokens').set({ last_used_at: now }).where('id', '=', id).execute()
  }

  async revokeRegistrationToken(id: string, now: number): Promise<boolean> {
    const { numUpdatedRows } = await this.#db
      .updateTable('registration_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return numUpdatedRows > 0n
  }

  // pushed authorization requests (RFC 9126) and single-use jtis

  async createPushedRequest(request: PushedRequestRecord): Promise<void> {
    await this.#db
      .insertInto('pushed_requests')
      .values({
        uri_hash: request.uriHash,
        client_id: request.clientId,
        params: JSON.stringify(request.params),
        created_at: request.createdAt,
        expires_at: request.expiresAt,
      })
      .execute()
  }

  /** One `DELETE … RETURNING`: whoever deletes the row has taken the request. */
  async takePushedRequest(uriHash: string, clientId: string, now: number): Promise<PushedRequestRecord | undefined> {
    const row = await this.#db
      .deleteFrom('pushed_requests')
      .where('uri_hash', '=', uriHash)
      .where('client_id', '=', clientId)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst()
    if (row === undefined) return undefined
    return {
      uriHash: row.uri_hash,
      clientId: row.client_id,
      params: JSON.parse(row.params) as [string, string][],
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    }
  }

  /** One insert; the primary key decides between instances. A row stays until the purge after it expires. */
  async useOnce(key: string, expiresAt: number): Promise<boolean> {
    const row = await this.#db
      .insertInto('used_jtis')
      .values({ jti_hash: key, expires_at: expiresAt })
      .onConflict((conflict) => conflict.column('jti_hash').doNothing())
      .returning('jti_hash')
      .executeTakeFirst()
    return row !== undefined
  }

  // passkeys

  async createPasskey(passkey: PasskeyRecord): Promise<void> {
    await unique('passkey', this.#db.insertInto('passkeys').values(passkeyRow(passkey)).execute())
  }

  async getPasskey(credentialId: string): Promise<PasskeyRecord | undefined> {
    const row = await this.#db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst()
    return row === undefined ? undefined : toPasskey(row)
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    const rows = await this.#db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('credential_id').execute()
    return rows.map(toPasskey)
  }

  /** One conditional update: of two sign-ins with one counter value, one moves it. A counter of 0 passes only while the stored one is 0. */
  async usePasskey(credentialId: string, counter: number, backedUp: boolean, now: number): Promise<boolean> {
    const { numUpdatedRows } = await this.#db
      .updateTable('passkeys')
      .set({ counter, backed_up: flag(backedUp), last_used_at: now })
      .where('credential_id', '=', credentialId)
      .where('counter', counter === 0 ? '=' : '<', counter)
      .executeTakeFirst()
    return numUpdatedRows > 0n
  }

  async deletePasskey(userId: string, credentialId: string): Promise<boolean> {
    const { numDeletedRows } = await this.#db.deleteFrom('passkeys').where('user_id', '=', userId).where('credential_id', '=', credentialId).executeTakeFirst()
    return numDeletedRows > 0n
  }

  // rate limits

  /**
   * One upsert whose `WHERE` decides: the row changes only in a new window (`reset_at <= now`) or
   * once the wait set by the previous attempt is over (`next_at <= now`). Nothing returned means no
   * attempt was taken; then a plain read says how long to wait.
   */
  async reserveAttempt(key: string, limit: AttemptLimit, now: number): Promise<Reservation> {
    const resetAt = now + limit.window
    const taken = await this.#db
      .insertInto('rate_limits')
      .values({ key, count: 1, reset_at: resetAt, next_at: nextAttemptAt(limit, 1, now, resetAt) })
      .onConflict((conflict) =>
        conflict
          .column('key')
          .doUpdateSet((eb) => {
            const ended = eb('rate_limits.reset_at', '<=', now)
            const count = eb.case().when(ended).then(1).else(eb('rate_limits.count', '+', 1)).end()
            const windowEnd = eb.case().when(ended).then(resetAt).else(eb.ref('rate_limits.reset_at')).end()
            // next_at for the new count: now below max, then each delay in turn (or the window's end).
            let next = eb.case().when(count, '<', limit.max).then(now)
            limit.delays.forEach((delay, i) => {
              if (i < limit.delays.length - 1) next = next.when(count, '=', limit.max + i).then(now + delay)
            })
            const last = limit.delays.at(-1)
            return {
              count,
              reset_at: windowEnd,
              next_at: last === undefined ? next.else(windowEnd).end() : next.else(now + last).end(),
            }
          })
          .where((eb) => eb.or([eb('rate_limits.reset_at', '<=', now), eb('rate_limits.next_at', '<=', now)])),
      )
      .returning('count')
      .executeTakeFirst()
    if (taken !== undefined) return { reserved: true }
    const row = await this.#db.selectFrom('rate_limits').select('next_at').where('key', '=', key).executeTakeFirst()
    return { reserved: false, retryAfter: Math.max(1, Number(row?.next_at ?? now) - now) }
  }

  async refundAttempt(key: string, limit: AttemptLimit, now: number): Promise<void> {
    await this.#db
      .updateTable('rate_limits')
      .set((eb) => ({
        count: eb('count', '-', 1),
        next_at: eb.case().when(eb('count', '-', 1), '<', limit.max).then(now).else(eb.ref('next_at').$castTo<number>()).end(),
      }))
      .where('key', '=', key)
      .where('count', '>', 0)
      .where('reset_at', '>', now)
      .execute()
  }

  async resetRateLimit(key: string): Promise<void> {
    await this.#db.deleteFrom('rate_limits').where('key', '=', key).execute()
  }

  // housekeeping

  /**
   * In one transaction: expired codes and tokens and everything issued under a revoked grant, then
   * the grants left with nothing issued (revoked ones included), so each count is what its table
   * lost. Consumed codes and rotated or revoked tokens stay until they expire: until then a replay
   * is still recognised as one.
   */
  async purgeExpired(now: number): Promise<PurgeResult> {
    return this.#db.transaction().execute(async (trx) => {
      const revoked = trx.selectFrom('grants').select('id').where('revoked_at', 'is not', null)
      const codes = count(
        await trx
          .deleteFrom('authorization_codes')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', revoked)]))
          .executeTakeFirst(),
      )
      const refreshTokens = count(
        await trx
          .deleteFrom('refresh_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', revoked)]))
          .executeTakeFirst(),
      )
      const accessTokens = count(
        await trx
          .deleteFrom('access_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', revoked)]))
          .executeTakeFirst(),
      )
      const issued = trx
        .selectFrom('authorization_codes')
        .select('grant_id')
        .union(trx.selectFrom('refresh_tokens').select('grant_id'))
        .union(trx.selectFrom('access_tokens').select('grant_id'))
      const grants = count(await trx.deleteFrom('grants').where('id', 'not in', issued).executeTakeFirst())
      const loginSessions = count(await trx.deleteFrom('login_sessions').where('expires_at', '<=', now).executeTakeFirst())
      const interactions = count(await trx.deleteFrom('interactions').where('expires_at', '<=', now).executeTakeFirst())
      const rateLimits = count(await trx.deleteFrom('rate_limits').where('reset_at', '<=', now).executeTakeFirst())
      const pushedRequests = count(await trx.deleteFrom('pushed_requests').where('expires_at', '<=', now).executeTakeFirst())
      const usedJtis = count(await trx.deleteFrom('used_jtis').where('expires_at', '<=', now).executeTakeFirst())
      return { codes, refreshTokens, accessTokens, loginSessions, interactions, grants, rateLimits, pushedRequests, usedJtis }
    })
  }

  /** `spendThenIssue`'s statements, each awaited in turn in one kysely transaction. */
  async #spendThenIssue(
    statements: SpendThenIssueStatements<queries.CompiledTemplate>,
    hash: string,
    now: number,
    tokens: IssuedTokens,
  ): Promise<boolean> {
    return unique(
      'issued token',
      this.#db.transaction().execute(async (trx) => {
        const steps = spendThenIssue(statements, hash, now, tokens)
        let step = steps.next()
        while (!step.done) {
          const { rows } = await trx.executeQuery(queries.bind(step.value.statement, step.value.args))
          step = steps.next(rows.length > 0)
        }
        return step.value
      }),
    )
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db)
  }

  async close(): Promise<void> {
    await this.#db.destroy()
  }
}

/** The first row of a compiled query run with `args`. */
async function first<R>(db: Kysely<Database>, template: queries.CompiledTemplate, args: readonly unknown[]): Promise<R | undefined> {
  return (await db.executeQuery(queries.bind<R>(template, args))).rows[0]
}

/** When the attempt that makes the window's count `count` lets the next one come. */
function nextAttemptAt(limit: AttemptLimit, count: number, now: number, resetAt: number): number {
  if (count < limit.max) return now
  const delay = limit.delays[Math.min(count - limit.max, limit.delays.length - 1)]
  return delay === undefined ? resetAt : now + delay
}

/** Rows per insert of `importUsers`: 9 columns each, far below SQLite's 32766 and PostgreSQL's 65535 parameters. */
const IMPORT_BATCH = 500

/** Revokes every grant of the user and their access tokens, as `revokeGrant` does (a first revocation time stays). */
async function revokeGrantsOfUser(trx: Transaction<Database>, userId: string, now: number): Promise<void> {
  await trx.updateTable('grants').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute()
  await trx.updateTable('access_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute()
}

/** The sessions of one browser, and one by id (it may predate the binding); the users and `sid`s of those it deleted. */
async function deleteSessionsOf(
  db: Kysely<Database>,
  browserHash: string | undefined,
  idHash: string | undefined,
): Promise<{ user_id: string; sid: string | null }[]> {
  if (browserHash === undefined && idHash === undefined) return []
  return db
    .deleteFrom('login_sessions')
    .where((eb) =>
      eb.or([
        ...(browserHash === undefined ? [] : [eb('browser_hash', '=', browserHash)]),
        ...(idHash === undefined ? [] : [eb('id_hash', '=', idHash)]),
      ]),
    )
    .returning(['user_id', 'sid'])
    .execute()
}

const toEndedSession = (row: { user_id: string; sid: string | null }) => (row.sid === null ? { userId: row.user_id } : { userId: row.user_id, sid: row.sid })

/** `sid`s per `IN (…)` of `queueLogouts`, far below every driver's limit of parameters. */
const SID_BATCH = 500

/**
 * Queues a back-channel logout, due at `now`, for each client with a grant made in one of the
 * ended `sessions` whose client has a back-channel logout URI (one per session and client: the
 * primary key), while the queue holds fewer than `LOGOUT_QUEUE_LIMIT`; the rest are dropped.
 */
async function queueLogouts(trx: Transaction<Database>, sessions: readonly { sid: string | null }[], now: number): Promise<{ queued: number; dropped: number }> {
  const sids = [...new Set(sessions.flatMap(({ sid }) => (sid === null ? [] : [sid])))]
  let queued = 0
  let dropped = 0
  for (let i = 0; i < sids.length; i += SID_BATCH) {
    const wanted = await trx
      .selectFrom('grants')
      .innerJoin('clients', 'clients.client_id', 'grants.client_id')
      .select(['grants.sid', 'grants.client_id', 'grants.user_id'])
      .distinct()
      .where('grants.sid', 'in', sids.slice(i, i + SID_BATCH))
      .where('clients.backchannel_logout_uri', 'is not', null)
      .orderBy('grants.sid')
      .orderBy('grants.client_id')
      .execute()
    if (wanted.length === 0) continue
    const waiting = await trx.selectFrom('logout_deliveries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    const room = Math.max(0, LOGOUT_QUEUE_LIMIT - Number(waiting.n))
    const rows = wanted.slice(0, room).map((grant) => ({
      sid: grant.sid as string,
      client_id: grant.client_id,
      user_id: grant.user_id,
      created_at: now,
      attempts: 0,
      next_attempt_at: now,
    }))
    dropped += wanted.length - rows.length
    if (rows.length === 0) continue
    const inserted = await trx
      .insertInto('logout_deliveries')
      .values(rows)
      .onConflict((conflict) => conflict.columns(['sid', 'client_id']).doNothing())
      .returning('sid')
      .execute()
    queued += inserted.length
  }
  return { queued, dropped }
}

// column helpers

/** Every item once, in order of first appearance. */
function union(...lists: readonly string[][]): string[] {
  return [...new Set(lists.flat())]
}

function count(result: DeleteResult): number {
  return Number(result.numDeletedRows)
}

/** Maps a unique-key violation (SQLite `SQLITE_CONSTRAINT_PRIMARYKEY`/`_UNIQUE`, PostgreSQL 23505) to `DuplicateError`. */
export async function unique<T>(what: string, write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') {
      throw new DuplicateError(`${what} already exists`, { cause: error })
    }
    throw error
  }
}
