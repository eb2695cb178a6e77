/**
 * In-memory stores: the defaults, fine for one process. Several processes behind a load balancer
 * need a shared store (`SqliteTokenStore` for tokens).
 */
import type { LoginState, LoginStateStore } from '../login/state-store.js'
import type { SessionRecord, TokenStore } from '../tokens/store.js'

/** Login attempts in a `Map`, bounded: past `maxEntries` the oldest attempt is dropped. */
export class MemoryLoginStateStore implements LoginStateStore {
  readonly #entries = new Map<string, LoginState>()
  readonly #maxEntries: number

  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 10_000
    if (!Number.isInteger(max) || max <= 0) throw new TypeError('maxEntries must be a positive integer')
    this.#maxEntries = max
  }

  async save(loginId: string, state: LoginState): Promise<void> {
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= state.createdAt) this.#entries.delete(id)
    }
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.#entries.delete(oldest)
    }
    this.#entries.set(loginId, state)
  }

  async take(loginId: string, now: number): Promise<LoginState | undefined> {
    const entry = this.#entries.get(loginId)
    this.#entries.delete(loginId)
    return entry !== undefined && entry.expiresAt > now ? entry : undefined
  }

  /** How many attempts are kept (for tests). */
  get size(): number {
    return this.#entries.size
  }
}

/** Sessions in a `Map`, with the refresh lock as a lease beside each entry. */
export class MemoryTokenStore implements TokenStore {
  readonly #sessions = new Map<string, { record: SessionRecord; lock: { owner: string; until: number } | undefined }>()

  async get(key: string): Promise<SessionRecord | undefined> {
    return this.#sessions.get(key)?.record
  }

  async set(key: string, record: SessionRecord): Promise<void> {
    const existing = this.#sessions.get(key)
    this.#sessions.set(key, { record, lock: existing?.lock })
  }

  async delete(key: string): Promise<void> {
    this.#sessions.delete(key)
  }

  async acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean> {
    const entry = this.#sessions.get(key)
    if (entry === undefined) return false
    if (entry.lock !== undefined && entry.lock.owner !== owner && entry.lock.until > now) return false
    entry.lock = { owner, until }
    return true
  }

  async releaseRefreshLock(key: string, owner: string): Promise<void> {
    const entry = this.#sessions.get(key)
    if (entry?.lock?.owner === owner) entry.lock = undefined
  }
}
