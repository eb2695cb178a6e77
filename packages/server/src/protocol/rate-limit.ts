/**
 * Throttles (SECURITY.md 26, 27, 31): attempts are reserved in the store before the work they
 * guard, so every server instance sees the same counts and concurrent attempts never slip past
 * the limit together. Keys are hashed, so what a caller sends (a username, an address) takes the
 * same few bytes in the store whatever its length.
 */
import type { AttemptLimit, RateLimitStore, Reservation } from './store.js'
import { hashToken } from '../tokens/secrets.js'

export class Throttle {
  readonly #store: RateLimitStore
  readonly #limit: AttemptLimit
  readonly #prefix: string

  constructor(store: RateLimitStore, limit: AttemptLimit, prefix: string) {
    this.#store = store
    this.#limit = limit
    this.#prefix = prefix
  }

  /** Takes one attempt for `key`, or says how many seconds to wait. */
  reserve(key: string, now: number): Promise<Reservation> {
    return this.#store.reserveAttempt(this.#key(key), this.#limit, now)
  }

  /** Gives back an attempt that succeeded. */
  refund(key: string, now: number): Promise<void> {
    return this.#store.refundAttempt(this.#key(key), this.#limit, now)
  }

  reset(key: string): Promise<void> {
    return this.#store.resetRateLimit(this.#key(key))
  }

  #key(key: string): string {
    return this.#prefix + hashToken(key)
  }
}

/** One key made of several parts, none of which can run into the next. */
export const throttleKey = (...parts: readonly string[]): string => parts.map((part) => `${part.length}:${part}`).join('')
