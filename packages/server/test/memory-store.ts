/**
 * An in-memory `Store` for the unit tests of `protocol/`: the contract of `protocol/store.ts`
 * kept in maps, nothing else. It is a fake, not a backend: `memory-store.test.ts` runs the shared
 * store suite against it, so it keeps every promise the real stores keep (single use, rotation,
 * cascades, compare-and-set), and a unit test that passes on it tells the truth about the protocol.
 *
 * Each method runs to completion without awaiting, so each is atomic, as the contract asks.
 */
import {
  DuplicateError,
  type AccessTokenRecord,
  type AccountMirror,
  type AdminTokenRecord,
  type ClientChanges,
  type UserChanges,
  type UserPage,
  type AppAccess,
  type AttemptLimit,
  type ClientRecord,
  type CodeRecord,
  type ConsentRecord,
  type GrantRecord,
  type InteractionRecord,
  type InteractionState,
  type InteractionTransition,
  type IssuedTokens,
  type LoginSessionRecord,
  LOGOUT_QUEUE_LIMIT,
  type LogoutDeliveryRecord,
  type SignedInApp,
  type SignOutResult,
  type PurgeResult,
  type PushedRequestRecord,
  type RefreshTokenRecord,
  type RegistrationTokenRecord,
  type Reservation,
  type SigningKeyRecord,
  type Store,
  type UserRecord,
  type WithGrant,
  type PasskeyRecord,
} from '../src/protocol/store.js'

interface RateLimitRow {
  count: number
  resetAt: number
  nextAt: number
}

const copy = <T>(value: T): T => structuredClone(value)
const union = (...lists: string[][]): string[] => [...new Set(lists.flat())].toSorted()

export class MemoryStore implements Store {
  readonly clients = new Map<string, ClientRecord>()
  readonly users = new Map<string, UserRecord>()
  readonly loginSessions = new Map<string, LoginSessionRecord>()
  readonly interactions = new Map<string, InteractionRecord>()
  readonly consents = new Map<string, ConsentRecord>()
  readonly grants = new Map<string, GrantRecord>()
  readonly codes = new Map<string, CodeRecord>()
  readonly refreshTokens = new Map<string, RefreshTokenRecord>()
  readonly accessTokens = new Map<string, AccessTokenRecord>()
  readonly signingKeys = new Map<string, SigningKeyRecord>()
  readonly rateLimits = new Map<string, RateLimitRow>()
  readonly adminTokens = new Map<string, AdminTokenRecord>()
  readonly registrationTokens = new Map<string, RegistrationTokenRecord>()
  readonly pushedRequests = new Map<string, PushedRequestRecord>()
  readonly usedJtis = new Map<string, number>()
  /** Passkeys by credential id. */
  readonly passkeys = new Map<string, PasskeyRecord>()
  /** Keyed by `sid` and client id. */
  readonly logoutDeliveries = new Map<string, LogoutDeliveryRecord>()

  // clients

  async createClient(client: ClientRecord): Promise<void> {
    if (this.clients.has(client.clientId)) throw new DuplicateError(`client ${client.clientId} exists already`)
    this.clients.set(client.clientId, copy(client))
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    return copy(this.clients.get(clientId))
  }

  async listClients(): Promise<ClientRecord[]> {
    return [...this.clients.values()].toSorted((a, b) => a.createdAt - b.createdAt || compare(a.clientId, b.clientId)).map(copy)
  }

  /** Everything that references the client goes with it, as the foreign keys cascade. */
  async deleteClient(clientId: string): Promise<boolean> {
    if (!this.clients.delete(clientId)) return false
    const owned = (record: { clientId: string }) => record.clientId === clientId
    for (const table of [this.interactions, this.grants, this.codes, this.refreshTokens, this.accessTokens]) deleteWhere(table, owned)
    deleteWhere(this.consents, owned)
    deleteWhere(this.logoutDeliveries, owned)
    deleteWhere(this.pushedRequests, owned)
    return true
  }

  async updateClient(clientId: string, changes: ClientChanges): Promise<ClientRecord | undefined> {
    const client = this.clients.get(clientId)
    if (client === undefined) return undefined
    const updated: ClientRecord = {
      ...client,
      name: changes.name ?? client.name,
      redirectUris: changes.redirectUris ?? client.redirectUris,
      scopes: changes.scopes ?? client.scopes,
      postLogoutRedirectUris: changes.postLogoutRedirectUris ?? client.postLogoutRedirectUris,
      backchannelLogoutUri: changes.backchannelLogoutUri === undefined ? client.backchannelLogoutUri : changes.backchannelLogoutUri,
      webOrigins: changes.webOrigins ?? client.webOrigins,
      grantTypes: changes.grantTypes ?? client.grantTypes,
      idTokenSignedResponseAlg: changes.idTokenSignedResponseAlg ?? client.idTokenSignedResponseAlg,
      tokenEndpointAuthMethod: changes.tokenEndpointAuthMethod ?? client.tokenEndpointAuthMethod,
      requirePushedAuthorizationRequests: changes.requirePushedAuthorizationRequests ?? client.requirePushedAuthorizationRequests,
      dpopBoundAccessTokens: changes.dpopBoundAccessTokens ?? client.dpopBoundAccessTokens,
    }
    this.clients.set(clientId, copy(updated))
    const { redirectUris } = changes
    if (redirectUris !== undefined) {
      deleteWhere(this.interactions, (interaction) => interaction.clientId === clientId)
      deleteWhere(this.codes, (code) => code.clientId === clientId && code.consumedAt === null && !redirectUris.includes(code.redirectUri))
    }
    return copy(updated)
  }

  async countDynamicallyRegisteredClients(): Promise<number> {
    return [...this.clients.values()].filter((client) => client.registeredDynamically).length
  }

  async rotateClientSecret(clientId: string, secretHash: string, previousExpiresAt: number | null): Promise<boolean> {
    const client = this.clients.get(clientId)
    if (client === undefined || client.secretHash === null) return false
    this.clients.set(clientId, {
      ...client,
      secretHash,
      previousSecretHash: previousExpiresAt === null ? null : client.secretHash,
      previousSecretExpiresAt: previousExpiresAt,
    })
    return true
  }

  // users

  async createUser(user: UserRecord): Promise<void> {
    if (this.users.has(user.id) || [...this.users.values()].some((other) => other.username === user.username)) {
      throw new DuplicateError(`user ${user.username} exists already`)
    }
    this.users.set(user.id, copy(user))
  }

  async getUserById(id: string): Promise<UserRecord | undefined> {
    return copy(this.users.get(id))
  }

  async getUserByUsername(username: string): Promise<UserRecord | undefined> {
    return copy([...this.users.values()].find((user) => user.username === username))
  }

  async updatePasswordHash(userId: string, expected: string, passwordHash: string, now: number): Promise<boolean> {
    const user = this.users.get(userId)
    if (user === undefined || user.passwordHash !== expected) return false
    this.users.set(userId, { ...user, passwordHash, updatedAt: now })
    return true
  }

  async listUsers(page: UserPage = {}): Promise<UserRecord[]> {
    const { after } = page
    const users = [...this.users.values()]
      .filter((user) => after === undefined || compareBytes(user.username, after) > 0)
      .toSorted((a, b) => compareBytes(a.username, b.username))
    return users.slice(0, page.limit ?? users.length).map(copy)
  }

  async updateUser(userId: string, changes: UserChanges, now: number): Promise<UserRecord | undefined> {
    const user = this.users.get(userId)
    if (user === undefined) return undefined
    const updated: UserRecord = {
      ...user,
      name: changes.name === undefined ? user.name : changes.name,
      email: changes.email === undefined ? user.email : changes.email,
      emailVerified: changes.emailVerified ?? user.emailVerified,
      updatedAt: now,
    }
    this.users.set(userId, updated)
    return copy(updated)
  }

  async setPassword(userId: string, passwordHash: string, now: number, keepSessionHash?: string): Promise<boolean> {
    const user = this.users.get(userId)
    if (user === undefined) return false
    this.users.set(userId, { ...user, passwordHash, updatedAt: now })
    this.#queueLogouts(this.#deleteSessions((session) => session.userId === userId && session.idHash !== keepSessionHash), now)
    return true
  }

  async disableUser(userId: string, now: number): Promise<boolean> {
    const user = this.users.get(userId)
    if (user === undefined) return false
    this.users.set(userId, { ...user, disabledAt: user.disabledAt ?? now })
    this.#queueLogouts(this.#deleteSessions((session) => session.userId === userId), now)
    for (const grant of this.grants.values()) if (grant.userId === userId) this.#revoke(grant.id, now)
    return true
  }

  async enableUser(userId: string): Promise<boolean> {
    const user = this.users.get(userId)
    if (user === undefined) return false
    this.users.set(userId, { ...user, disabledAt: null })
    return true
  }

  /** Everything that references the user goes with it, as the foreign keys cascade. */
  async deleteUser(userId: string, now: number): Promise<boolean> {
    if (!this.users.has(userId)) return false
    this.#queueLogouts(this.#deleteSessions((session) => session.userId === userId), now)
    this.users.delete(userId)
    const owned = (record: { userId: string | null }) => record.userId === userId
    for (const table of [this.loginSessions, this.interactions, this.consents, this.grants, this.codes, this.refreshTokens, this.accessTokens]) {
      deleteWhere<{ userId: string | null }>(table, owned)
    }
    deleteWhere(this.passkeys, owned)
    return true
  }

  async importUsers(users: UserRecord[]): Promise<void> {
    const ids = new Set(this.users.keys())
    const usernames = new Set([...this.users.values()].map((user) => user.username))
    for (const user of users) {
      if (ids.has(user.id) || usernames.has(user.username)) throw new DuplicateError(`user ${user.username} exists already`)
      ids.add(user.id)
      usernames.add(user.username)
    }
    for (const user of users) this.users.set(user.id, copy(user))
  }

  async mirrorAccount(mirror: AccountMirror, now: number): Promise<void> {
    for (const other of this.users.values()) {
      if (other.username === mirror.username && other.id !== mirror.id) this.users.set(other.id, { ...other, username: `~${other.id}` })
    }
    const user = this.users.get(mirror.id)
    this.users.set(
      mirror.id,
      user === undefined
        ? { ...mirror, name: null, email: null, emailVerified: false, createdAt: now, updatedAt: now, disabledAt: null }
        : { ...user, username: mirror.username, passwordHash: mirror.passwordHash, disabledAt: null },
    )
  }

  // login sessions

  async createLoginSession(session: LoginSessionRecord): Promise<void> {
    if (this.loginSessions.has(session.idHash)) throw new DuplicateError('login session exists already')
    this.loginSessions.set(session.idHash, copy(session))
  }

  async getLoginSession(idHash: string, now: number): Promise<LoginSessionRecord | undefined> {
    const session = this.loginSessions.get(idHash)
    const live = session !== undefined && session.expiresAt > now && this.users.get(session.userId)?.disabledAt === null
    return live ? copy(session) : undefined
  }

  async deleteBrowserSessions(browserHash: string | undefined, idHash: string | undefined): Promise<void> {
    this.#deleteSessions((session) => (browserHash !== undefined && session.browserHash === browserHash) || session.idHash === idHash)
  }

  async signOutBrowser(browserHash: string | undefined, idHash: string | undefined, now: number): Promise<SignOutResult> {
    const ended = this.#deleteSessions((session) => (browserHash !== undefined && session.browserHash === browserHash) || session.idHash === idHash)
    if (browserHash !== undefined) deleteWhere(this.interactions, (interaction) => interaction.browserHash === browserHash)
    const { queued, dropped } = this.#queueLogouts(ended, now)
    return { sessions: ended.map(({ userId, sid }) => (sid === undefined ? { userId } : { userId, sid })), logoutsQueued: queued, logoutsDropped: dropped }
  }

  async listSignedInApps(sid: string): Promise<SignedInApp[]> {
    const apps = new Map<string, SignedInApp>()
    for (const grant of this.grants.values()) {
      const client = this.clients.get(grant.clientId)
      if (grant.sid === sid && grant.revokedAt === null && client !== undefined) apps.set(client.clientId, { clientId: client.clientId, clientName: client.name })
    }
    return [...apps.values()].sort((a, b) => compare(a.clientName, b.clientName) || compare(a.clientId, b.clientId))
  }

  async listUserSessions(userId: string, now: number): Promise<LoginSessionRecord[]> {
    return [...this.loginSessions.values()]
      .filter((session) => session.userId === userId && session.expiresAt > now)
      .sort((a, b) => b.authTime - a.authTime || compare(a.idHash, b.idHash))
      .map(copy)
  }

  async signOutUser(userId: string, now: number, keepSessionHash?: string): Promise<SignOutResult> {
    const ended = this.#deleteSessions((session) => session.userId === userId && session.idHash !== keepSessionHash)
    const { queued, dropped } = this.#queueLogouts(ended, now)
    return { sessions: ended.map(({ userId: owner, sid }) => (sid === undefined ? { userId: owner } : { userId: owner, sid })), logoutsQueued: queued, logoutsDropped: dropped }
  }

  /** Deletes the sessions that match; returns them. */
  #deleteSessions(matches: (session: LoginSessionRecord) => boolean): LoginSessionRecord[] {
    const ended = [...this.loginSessions.values()].filter(matches)
    for (const session of ended) this.loginSessions.delete(session.idHash)
    return ended
  }

  /** One delivery per ended session and client with a back-channel logout URI and a grant made in it, while there is room. */
  #queueLogouts(sessions: readonly LoginSessionRecord[], now: number): { queued: number; dropped: number } {
    const sids = new Set(sessions.flatMap(({ sid }) => (sid === undefined ? [] : [sid])))
    const wanted = new Map<string, LogoutDeliveryRecord>()
    for (const grant of this.grants.values()) {
      if (grant.sid === undefined || !sids.has(grant.sid) || (this.clients.get(grant.clientId)?.backchannelLogoutUri ?? null) === null) continue
      wanted.set(deliveryKey(grant.sid, grant.clientId), { sid: grant.sid, clientId: grant.clientId, userId: grant.userId, createdAt: now, attempts: 0, nextAttemptAt: now })
    }
    let queued = 0
    let dropped = 0
    for (const [key, delivery] of [...wanted].sort(([a], [b]) => compare(a, b))) {
      if (this.logoutDeliveries.size >= LOGOUT_QUEUE_LIMIT) dropped++
      else if (!this.logoutDeliveries.has(key)) {
        this.logoutDeliveries.set(key, delivery)
        queued++
      }
    }
    return { queued, dropped }
  }

  // back-channel logouts

  async claimLogoutDeliveries(now: number, lease: number, limit: number): Promise<LogoutDeliveryRecord[]> {
    const due = [...this.logoutDeliveries.values()]
      .filter((delivery) => delivery.nextAttemptAt <= now)
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt)
      .slice(0, limit)
    return due.map((delivery) => {
      const claimed = { ...delivery, attempts: delivery.attempts + 1, nextAttemptAt: now + lease }
      this.logoutDeliveries.set(deliveryKey(delivery.sid, delivery.clientId), claimed)
      return copy(claimed)
    })
  }

  async deleteLogoutDelivery(sid: string, clientId: string): Promise<void> {
    this.logoutDeliveries.delete(deliveryKey(sid, clientId))
  }

  async retryLogoutDelivery(sid: string, clientId: string, attempts: number, nextAttemptAt: number): Promise<void> {
    const delivery = this.logoutDeliveries.get(deliveryKey(sid, clientId))
    if (delivery !== undefined && delivery.attempts === attempts) this.logoutDeliveries.set(deliveryKey(sid, clientId), { ...delivery, nextAttemptAt })
  }

  async nextLogoutDeliveryAt(): Promise<number | undefined> {
    const times = [...this.logoutDeliveries.values()].map((delivery) => delivery.nextAttemptAt)
    return times.length === 0 ? undefined : Math.min(...times)
  }

  // interactions

  async createInteraction(interaction: InteractionRecord): Promise<void> {
    if (this.interactions.has(interaction.id)) throw new DuplicateError('interaction exists already')
    this.interactions.set(interaction.id, copy(interaction))
  }

  async getInteraction(id: string, now: number): Promise<InteractionRecord | undefined> {
    const interaction = this.interactions.get(id)
    return interaction !== undefined && interaction.expiresAt > now ? copy(interaction) : undefined
  }

  async transitionInteraction(id: string, from: readonly InteractionState[], to: InteractionTransition, now: number): Promise<InteractionRecord | undefined> {
    const interaction = this.interactions.get(id)
    if (interaction === undefined || !from.includes(interaction.state) || interaction.expiresAt <= now) return undefined
    const moved: InteractionRecord = {
      ...interaction,
      state: to.state,
      userId: to.userId ?? interaction.userId,
      authTime: to.authTime ?? interaction.authTime,
      sessionHash: to.sessionHash ?? interaction.sessionHash,
    }
    this.interactions.set(id, moved)
    return copy(moved)
  }

  // consents

  async getConsent(userId: string, clientId: string): Promise<ConsentRecord | undefined> {
    return copy(this.consents.get(consentKey(userId, clientId)))
  }

  async saveConsent(userId: string, clientId: string, scopes: string[], now: number): Promise<void> {
    const current = this.consents.get(consentKey(userId, clientId))
    this.consents.set(
      consentKey(userId, clientId),
      current === undefined
        ? { userId, clientId, scopes: union(scopes), createdAt: now, updatedAt: now }
        : { ...current, scopes: union(current.scopes, scopes), updatedAt: now },
    )
  }

  async listAppsWithAccess(userId: string): Promise<AppAccess[]> {
    const apps: AppAccess[] = []
    for (const client of this.clients.values()) {
      const consent = this.consents.get(consentKey(userId, client.clientId))
      const live = [...this.grants.values()].filter((grant) => grant.userId === userId && grant.clientId === client.clientId && grant.revokedAt === null)
      if (consent === undefined && live.length === 0) continue
      const issued = [...this.accessTokens.values(), ...this.refreshTokens.values()]
        .filter((token) => token.userId === userId && token.clientId === client.clientId)
        .map((token) => token.createdAt)
      apps.push({
        userId,
        clientId: client.clientId,
        clientName: client.name,
        scopes: consent === undefined ? union(...live.map((grant) => grant.scopes)) : [...consent.scopes],
        since: consent === undefined ? Math.min(...live.map((grant) => grant.createdAt)) : consent.createdAt,
        consented: consent !== undefined,
        lastIssuedAt: issued.length === 0 ? null : Math.max(...issued),
      })
    }
    return apps.sort((a, b) => a.since - b.since || compare(a.clientId, b.clientId))
  }

  async revokeConsent(userId: string, clientId: string, now: number): Promise<boolean> {
    const hadConsent = this.consents.delete(consentKey(userId, clientId))
    let revoked = false
    for (const grant of this.grants.values()) {
      if (grant.userId !== userId || grant.clientId !== clientId) continue
      if (grant.revokedAt === null) revoked = true
      this.#revoke(grant.id, now)
    }
    return hadConsent || revoked
  }

  // grants, codes and tokens

  async createGrantWithCode(grant: GrantRecord, code: CodeRecord): Promise<void> {
    if (this.grants.has(grant.id) || this.codes.has(code.codeHash)) throw new DuplicateError('grant or authorization code exists already')
    this.grants.set(grant.id, copy(grant))
    this.codes.set(code.codeHash, copy(code))
  }

  async getGrant(id: string): Promise<GrantRecord | undefined> {
    return copy(this.grants.get(id))
  }

  async revokeGrant(id: string, now: number): Promise<void> {
    this.#revoke(id, now)
  }

  /** The grant and its access tokens get `revokedAt`, a first revocation time staying. */
  #revoke(grantId: string, now: number): void {
    const grant = this.grants.get(grantId)
    if (grant !== undefined && grant.revokedAt === null) this.grants.set(grantId, { ...grant, revokedAt: now })
    for (const [jti, token] of this.accessTokens) {
      if (token.grantId === grantId && token.revokedAt === null) this.accessTokens.set(jti, { ...token, revokedAt: now })
    }
  }

  async getCode(codeHash: string): Promise<CodeRecord | undefined> {
    return copy(this.codes.get(codeHash))
  }

  async getCodeWithGrant(codeHash: string): Promise<WithGrant<{ code: CodeRecord }> | undefined> {
    const code = this.codes.get(codeHash)
    return code === undefined ? undefined : this.#withGrant({ code: copy(code) }, code)
  }

  async redeemCode(codeHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    const code = this.codes.get(codeHash)
    if (code === undefined || code.consumedAt !== null || code.expiresAt <= now || !this.#grantLive(code.grantId)) return false
    this.#checkIssuable(tokens)
    this.codes.set(codeHash, { ...code, consumedAt: now })
    this.#insertIssued(tokens)
    return true
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    return copy(this.refreshTokens.get(tokenHash))
  }

  async getRefreshTokenWithGrant(tokenHash: string): Promise<WithGrant<{ token: RefreshTokenRecord }> | undefined> {
    const token = this.refreshTokens.get(tokenHash)
    return token === undefined ? undefined : this.#withGrant({ token: copy(token) }, token)
  }

  async rotateRefreshToken(tokenHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    const token = this.refreshTokens.get(tokenHash)
    if (token === undefined || token.rotatedAt !== null || token.expiresAt <= now || !this.#grantLive(token.grantId)) return false
    this.#checkIssuable(tokens)
    this.refreshTokens.set(tokenHash, { ...token, rotatedAt: now })
    this.#insertIssued(tokens)
    return true
  }

  async getAccessToken(jti: string): Promise<AccessTokenRecord | undefined> {
    return copy(this.accessTokens.get(jti))
  }

  async revokeAccessToken(jti: string, now: number): Promise<void> {
    const token = this.accessTokens.get(jti)
    if (token !== undefined && token.revokedAt === null) this.accessTokens.set(jti, { ...token, revokedAt: now })
  }

  #grantLive(grantId: string): boolean {
    return this.grants.get(grantId)?.revokedAt === null
  }

  #withGrant<T extends object>(item: T, { grantId, userId }: { grantId: string; userId: string }): WithGrant<T> | undefined {
    const grant = this.grants.get(grantId)
    const user = this.users.get(userId)
    return grant === undefined || user === undefined ? undefined : { ...item, grant: copy(grant), user: copy(user) }
  }

  /** As a unique index would: nothing is written when an issued token exists already. */
  #checkIssuable(tokens: IssuedTokens): void {
    if (this.accessTokens.has(tokens.accessToken.jti) || (tokens.refreshToken !== null && this.refreshTokens.has(tokens.refreshToken.tokenHash))) {
      throw new DuplicateError('issued token exists already')
    }
  }

  #insertIssued(tokens: IssuedTokens): void {
    this.accessTokens.set(tokens.accessToken.jti, copy(tokens.accessToken))
    if (tokens.refreshToken !== null) this.refreshTokens.set(tokens.refreshToken.tokenHash, copy(tokens.refreshToken))
  }

  // signing keys

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return [...this.signingKeys.values()].toSorted((a, b) => a.createdAt - b.createdAt || compare(a.kid, b.kid)).map(copy)
  }

  async insertSigningKeys(keys: SigningKeyRecord[]): Promise<void> {
    const kids = keys.map((key) => key.kid)
    if (new Set(kids).size !== kids.length || kids.some((kid) => this.signingKeys.has(kid))) throw new DuplicateError('signing key exists already')
    for (const key of keys) this.signingKeys.set(key.kid, copy(key))
  }

  async deleteSigningKeys(kids: string[]): Promise<void> {
    for (const kid of kids) this.signingKeys.delete(kid)
  }

  async retireSigningKey(kid: string, now: number): Promise<boolean> {
    const key = this.signingKeys.get(kid)
    if (key === undefined || key.retiredAt !== null) return false
    this.signingKeys.set(kid, { ...key, retiredAt: now })
    return true
  }

  // admin tokens

  async createAdminToken(token: AdminTokenRecord): Promise<void> {
    const taken = [...this.adminTokens.values()].some(
      (other) => other.id === token.id || other.tokenHash === token.tokenHash || (other.name === token.name && other.revokedAt === null && token.revokedAt === null),
    )
    if (taken) throw new DuplicateError(`admin token ${token.name} exists already`)
    this.adminTokens.set(token.id, copy(token))
  }

  async listAdminTokens(): Promise<AdminTokenRecord[]> {
    return [...this.adminTokens.values()].toSorted((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id)).map(copy)
  }

  async getAdminTokenByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    return copy([...this.adminTokens.values()].find((token) => token.tokenHash === tokenHash))
  }

  async markAdminTokenUsed(id: string, now: number): Promise<void> {
    const token = this.adminTokens.get(id)
    if (token !== undefined) this.adminTokens.set(id, { ...token, lastUsedAt: now })
  }

  async revokeAdminToken(id: string, now: number): Promise<boolean> {
    const token = this.adminTokens.get(id)
    if (token === undefined || token.revokedAt !== null) return false
    this.adminTokens.set(id, { ...token, revokedAt: now })
    return true
  }

  // initial access tokens of dynamic client registration

  async createRegistrationToken(token: RegistrationTokenRecord): Promise<void> {
    const taken = [...this.registrationTokens.values()].some(
      (other) => other.id === token.id || other.tokenHash === token.tokenHash || (other.name === token.name && other.revokedAt === null && token.revokedAt === null),
    )
    if (taken) throw new DuplicateError(`registration token ${token.name} exists already`)
    this.registrationTokens.set(token.id, copy(token))
  }

  async listRegistrationTokens(): Promise<RegistrationTokenRecord[]> {
    return [...this.registrationTokens.values()].toSorted((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id)).map(copy)
  }

  async getRegistrationTokenByHash(tokenHash: string): Promise<RegistrationTokenRecord | undefined> {
    return copy([...this.registrationTokens.values()].find((token) => token.tokenHash === tokenHash))
  }

  async markRegistrationTokenUsed(id: string, now: number): Promise<void> {
    const token = this.registrationTokens.get(id)
    if (token !== undefined) this.registrationTokens.set(id, { ...token, lastUsedAt: now })
  }

  async revokeRegistrationToken(id: string, now: number): Promise<boolean> {
    const token = this.registrationTokens.get(id)
    if (token === undefined || token.revokedAt !== null) return false
    this.registrationTokens.set(id, { ...token, revokedAt: now })
    return true
  }

  // rate limits

  async reserveAttempt(key: string, limit: AttemptLimit, now: number): Promise<Reservation> {
    const row = this.rateLimits.get(key)
    const fresh = row === undefined || row.resetAt <= now
    if (!fresh && row.nextAt > now) return { reserved: false, retryAfter: Math.max(1, row.nextAt - now) }
    const count = fresh ? 1 : row.count + 1
    const resetAt = fresh ? now + limit.window : row.resetAt
    const delay = count < limit.max ? 0 : limit.delays[Math.min(count - limit.max, limit.delays.length - 1)]
    this.rateLimits.set(key, { count, resetAt, nextAt: delay === undefined ? resetAt : now + delay })
    return { reserved: true }
  }

  async refundAttempt(key: string, limit: AttemptLimit, now: number): Promise<void> {
    const row = this.rateLimits.get(key)
    if (row === undefined || row.count <= 0 || row.resetAt <= now) return
    this.rateLimits.set(key, { ...row, count: row.count - 1, nextAt: row.count - 1 < limit.max ? now : row.nextAt })
  }

  async resetRateLimit(key: string): Promise<void> {
    this.rateLimits.delete(key)
  }

  // pushed authorization requests and single-use jtis

  async createPushedRequest(request: PushedRequestRecord): Promise<void> {
    if (this.pushedRequests.has(request.uriHash)) throw new DuplicateError('request_uri exists')
    this.pushedRequests.set(request.uriHash, { ...request, params: request.params.map(([name, value]) => [name, value]) })
  }

  async takePushedRequest(uriHash: string, clientId: string, now: number): Promise<PushedRequestRecord | undefined> {
    const request = this.pushedRequests.get(uriHash)
    if (request === undefined || request.clientId !== clientId || request.expiresAt <= now) return undefined
    this.pushedRequests.delete(uriHash)
    return request
  }

  async useOnce(key: string, expiresAt: number): Promise<boolean> {
    if (this.usedJtis.has(key)) return false
    this.usedJtis.set(key, expiresAt)
    return true
  }

  // passkeys

  async createPasskey(passkey: PasskeyRecord): Promise<void> {
    if (this.passkeys.has(passkey.credentialId)) throw new DuplicateError('passkey exists already')
    this.passkeys.set(passkey.credentialId, copy(passkey))
  }

  async getPasskey(credentialId: string): Promise<PasskeyRecord | undefined> {
    return copy(this.passkeys.get(credentialId))
  }

  async listPasskeys(userId: string): Promise<PasskeyRecord[]> {
    return [...this.passkeys.values()]
      .filter((passkey) => passkey.userId === userId)
      .toSorted((a, b) => a.createdAt - b.createdAt || compare(a.credentialId, b.credentialId))
      .map(copy)
  }

  async usePasskey(credentialId: string, counter: number, backedUp: boolean, now: number): Promise<boolean> {
    const passkey = this.passkeys.get(credentialId)
    if (passkey === undefined || !(counter === 0 ? passkey.counter === 0 : passkey.counter < counter)) return false
    this.passkeys.set(credentialId, { ...passkey, counter, backedUp, lastUsedAt: now })
    return true
  }

  async deletePasskey(userId: string, credentialId: string): Promise<boolean> {
    if (this.passkeys.get(credentialId)?.userId !== userId) return false
    return this.passkeys.delete(credentialId)
  }

  // housekeeping

  async purgeExpired(now: number): Promise<PurgeResult> {
    const revoked = (grantId: string) => this.grants.get(grantId)?.revokedAt !== null
    const gone = (record: { expiresAt: number; grantId: string }) => record.expiresAt <= now || revoked(record.grantId)
    const codes = deleteWhere(this.codes, gone)
    const refreshTokens = deleteWhere(this.refreshTokens, gone)
    const accessTokens = deleteWhere(this.accessTokens, gone)
    const issued = new Set([...this.codes.values(), ...this.refreshTokens.values(), ...this.accessTokens.values()].map((record) => record.grantId))
    const grants = deleteWhere(this.grants, (grant) => !issued.has(grant.id))
    const loginSessions = deleteWhere(this.loginSessions, (session) => session.expiresAt <= now)
    const interactions = deleteWhere(this.interactions, (interaction) => interaction.expiresAt <= now)
    const rateLimits = deleteWhere(this.rateLimits, (row) => row.resetAt <= now)
    const pushedRequests = deleteWhere(this.pushedRequests, (request) => request.expiresAt <= now)
    const usedJtis = deleteWhere(this.usedJtis, (expiresAt) => expiresAt <= now)
    return { codes, refreshTokens, accessTokens, loginSessions, interactions, grants, rateLimits, pushedRequests, usedJtis }
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

const consentKey = (userId: string, clientId: string): string => `${userId}\0${clientId}`
const deliveryKey = (sid: string, clientId: string): string => `${sid}\0${clientId}`
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
/** UTF-8 byte order, as SQLite's BINARY and PostgreSQL's `C` collation compare. */
const compareBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

/** Deletes the entries whose value matches; returns how many. */
function deleteWhere<V>(map: Map<string, V>, matches: (value: V) => boolean): number {
  let deleted = 0
  for (const [key, value] of map) {
    if (matches(value)) {
      map.delete(key)
      deleted++
    }
  }
  return deleted
}
