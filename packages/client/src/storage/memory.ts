/**
 * In-memory stores: the defaults, fine for one process. Several processes need shared stores:
 * `@authcode/client/sqlite` on one machine, `@authcode/client/redis` across machines.
 */
import { loginLimits, type LoginState, type LoginStateLimits, type LoginStateStore } from '../login/state-store.js'
import { endedBy, sessionExpired, type BackchannelLogout, type SessionRecord, type TokenStore } from '../tokens/store.js'

/**
 * Login attempts in a `Map`, bounded twice: past `maxPerCaller` attempts of one caller that caller's
 * oldest is dropped, past `maxEntries` in all the oldest of all (see `LoginStateLimits`).
 */
export class MemoryLoginStateStore implements LoginStateStore {
  readonly #entries = new Map<string, LoginState>()
  /** The ids of each caller's attempts, oldest first. */
  readonly #byCaller = new Map<string, Set<string>>()
  readonly #limits: Readonly<Required<LoginStateLimits>>

  constructor(options: LoginStateLimits = {}) {
    this.#limits = loginLimits(options)
  }

  async save(loginId: string, state: LoginState): Promise<void> {
    this.#delete(loginId)
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= state.createdAt) this.#delete(id)
    }
    // Oldest first: Maps and Sets iterate in insertion order, and deleting while iterating is safe.
    const own = state.caller === undefined ? undefined : this.#byCaller.get(state.caller)
    for (const id of own ?? []) {
      if ((own?.size ?? 0) < this.#limits.maxPerCaller) break
      this.#delete(id)
    }
    for (const id of this.#entries.keys()) {
      if (this.#entries.size < this.#limits.maxEntries) break
      this.#delete(id)
    }
    this.#entries.set(loginId, state)
    if (state.caller !== undefined) {
      const ids = this.#byCaller.get(state.caller) ?? new Set<string>()
      this.#byCaller.set(state.caller, ids.add(loginId))
    }
  }

  async take(loginId: string, now: number): Promise<LoginState | undefined> {
    const entry = this.#entries.get(loginId)
    this.#delete(loginId)
    return entry !== undefined && entry.expiresAt > now ? entry : undefined
  }

  /** How many attempts are kept (for tests). */
  get size(): number {
    return this.#entries.size
  }

  #delete(loginId: string): void {
    const entry = this.#entries.get(loginId)
    if (entry === undefined) return
    this.#entries.delete(loginId)
    if (entry.caller === undefined) return
    const ids = this.#byCaller.get(entry.caller)
    ids?.delete(loginId)
    if (ids?.size === 0) this.#byCaller.delete(entry.caller)
  }
}

interface SessionEntry {
  record: SessionRecord
  lock: { owner: string; until: number } | undefined
}

/**
 * Sessions in a `Map`, with the refresh lock as a lease beside each entry. A write moves the
 * session to the end, so the `Map` runs from the least recently stored: each `set` drops expired
 * sessions from the front.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #sessions = new Map<string, SessionEntry>()
  /** The logout tokens seen (issuer and `jti`), until they expire. */
  readonly #logoutJtis = new Map<string, number>()

  async get(key: string, now: number): Promise<SessionRecord | undefined> {
    return this.#live(key, now)?.record
  }

  async set(key: string, record: SessionRecord): Promise<void> {
    const existing = this.#sessions.get(key)
    this.#sessions.delete(key)
    for (const [id, entry] of this.#sessions) {
      if (!sessionExpired(entry.record, record.updatedAt)) break
      this.#sessions.delete(id)
    }
    this.#sessions.set(key, { record, lock: existing?.lock })
  }

  async delete(key: string): Promise<void> {
    this.#sessions.delete(key)
  }

  async acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean> {
    const entry = this.#live(key, now)
    if (entry === undefined) return false
    if (entry.lock !== undefined && entry.lock.owner !== owner && entry.lock.until > now) return false
    entry.lock = { owner, until }
    return true
  }

  async releaseRefreshLock(key: string, owner: string): Promise<void> {
    const entry = this.#sessions.get(key)
    if (entry?.lock?.owner === owner) entry.lock = undefined
  }

  async endSessions(logout: BackchannelLogout, now: number): Promise<number | 'replayed'> {
    for (const [jti, expiresAt] of this.#logoutJtis) if (expiresAt <= now) this.#logoutJtis.delete(jti)
    const jti = `${logout.iss}\0${logout.jti}`
    if (this.#logoutJtis.has(jti)) return 'replayed'
    this.#logoutJtis.set(jti, logout.expiresAt)
    let ended = 0
    for (const [key, entry] of this.#sessions) {
      if (!endedBy(entry.record, logout)) continue
      this.#sessions.delete(key)
      ended++
    }
    return ended
  }

  /** How many sessions are kept, expired ones not yet dropped included (for tests). */
  get size(): number {
    return this.#sessions.size
  }

  /** The session's entry unless it expired (then it is dropped). */
  #live(key: string, now: number): SessionEntry | undefined {
    const entry = this.#sessions.get(key)
    if (entry === undefined || !sessionExpired(entry.record, now)) return entry
    this.#sessions.delete(key)
    return undefined
  }
}
