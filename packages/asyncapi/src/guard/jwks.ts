/**
 * The authorization server's JWKS as the guard uses it: fetched on first use, cached, fetched again
 * when it is older than `maxAge` or a token names an unknown `kid` (at most once per `cooldown`),
 * keys picked by jose's `createLocalJWKSet`.
 *
 * Unlike jose's `createRemoteJWKSet`, a failed fetch (no connection, timeout, a status other than
 * 200, a body that is not a JWKS) is neither retried on every check nor the token's fault: the next
 * fetch waits `retryDelay`, doubled with each failure in a row up to `retryMaxDelay`; meanwhile a
 * token whose key is in the last good set keeps verifying, and any other check ends in
 * {@link JwksUnavailable}. Every time is read from `now`, so tests move a clock instead of sleeping.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'

export interface KeySetOptions {
  /** Timeout of one fetch, ms. */
  readonly timeout: number
  /** Minimum ms between two fetches caused by an unknown `kid`. */
  readonly cooldown: number
  /** How long a fetched set is used before it is fetched again, ms. */
  readonly maxAge: number
  /** Wait after a failed fetch, ms; doubled with each failure in a row. */
  readonly retryDelay: number
  /** The longest wait between two failed fetches, ms. */
  readonly retryMaxDelay: number
  readonly now: () => Date
}

/** The JWKS cannot be had now (and the token's key is not in the last good set): retry at `retryAt`. */
export class JwksUnavailable extends Error {
  constructor(
    /** When the next fetch may happen, ms since the epoch. */
    readonly retryAt: number,
    options?: { cause?: unknown },
  ) {
    super('the JWKS cannot be fetched', options)
    this.name = 'JwksUnavailable'
  }
}

/** One GET of the JWKS; throws unless it answers 200 with a JSON Web Key Set. */
async function fetchKeySet(url: URL, timeout: number): Promise<ReturnType<typeof createLocalJWKSet>> {
  const response = await fetch(url, {
    headers: { accept: 'application/jwk-set+json, application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(timeout),
  })
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new Error(`the JWKS endpoint answered HTTP ${response.status}`)
  }
  // Throws on a body that is not JSON, and (JWKSInvalid) on JSON that is not a key set.
  return createLocalJWKSet((await response.json()) as JSONWebKeySet)
}

/** The key resolver `jwtVerify` calls; see the module comment for when it fetches. */
export function remoteKeySet(url: URL, options: KeySetOptions): JWTVerifyGetKey {
  const now = (): number => options.now().getTime()
  let local: ReturnType<typeof createLocalJWKSet> | undefined
  let fetchedAt = Number.NEGATIVE_INFINITY
  /** Failed fetches in a row, and the earliest time of the next fetch after them. */
  let failures = 0
  let retryAt = Number.NEGATIVE_INFINITY
  let lastError: unknown
  let pending: Promise<void> | undefined

  /** Fetches the set (one fetch at a time, shared by concurrent checks); never rejects. */
  function reload(): Promise<void> {
    pending ??= fetchKeySet(url, options.timeout)
      .then(
        (fetched) => {
          local = fetched
          fetchedAt = now()
          failures = 0
          retryAt = Number.NEGATIVE_INFINITY
          lastError = undefined
        },
        (error: unknown) => {
          failures += 1
          retryAt = now() + Math.min(options.retryMaxDelay, options.retryDelay * 2 ** (failures - 1))
          lastError = error
        },
      )
      .finally(() => {
        pending = undefined
      })
    return pending
  }

  /** Whether a failed fetch asks to wait; a fetch in flight is always worth joining. */
  const backingOff = (): boolean => pending === undefined && now() < retryAt
  const unavailable = (): JwksUnavailable => new JwksUnavailable(retryAt, { cause: lastError })

  return async (protectedHeader, token) => {
    if ((local === undefined || now() >= fetchedAt + options.maxAge) && !backingOff()) await reload()
    // A stale set whose refresh failed is still the best knowledge of the server's keys.
    if (local === undefined) throw unavailable()
    try {
      return await local(protectedHeader, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      // An unknown kid: a rotation this guard has not seen yet, or a key the server never had.
      if (failures > 0 && backingOff()) throw unavailable()
      if (failures === 0 && now() < fetchedAt + options.cooldown) throw error
      await reload()
      if (failures > 0) throw unavailable()
      return local(protectedHeader, token)
    }
  }
}
