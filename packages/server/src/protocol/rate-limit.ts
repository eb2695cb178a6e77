/**
 * Fixed-window throttling of failures (login attempts, client authentication), counted in the
 * store so that every server instance sees the same counts.
 */
import type { RateLimit } from '../config/load.js'
import type { RateLimitStore } from './store.js'

export class Throttle {
  readonly #store: RateLimitStore
  readonly #limit: RateLimit
  readonly #prefix: string

  constructor(store: RateLimitStore, limit: RateLimit, prefix: string) {
    this.#store = store
    this.#limit = limit
    this.#prefix = prefix
  }

  /** Seconds to wait when `key` has used up its failures in this window, else 0. */
  async blockedFor(key: string, now: number): Promise<number> {
    const count = await this.#store.peekRateLimit(this.#prefix + key, now)
    return count >= this.#limit.max ? this.#limit.window : 0
  }

  /** Counts one failure. */
  async fail(key: string, now: number): Promise<void> {
    await this.#store.hitRateLimit(this.#prefix + key, this.#limit.window, now)
  }

  async reset(key: string): Promise<void> {
    await this.#store.resetRateLimit(this.#prefix + key)
  }
}
