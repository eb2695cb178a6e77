/**
 * The server's signing keys over the store (SECURITY.md 25): rotation without downtime (a new key is
 * published before it signs), old public keys served until every token they signed has expired, and
 * retirement (an administrator takes a key out of signing at once; it stays published as long).
 */
import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import type { KeyStore, SigningKeyRecord } from '../protocol/store.js'
import { SIGNING_ALGS, type SigningAlg } from './algorithms.js'
import { KEK_LENGTH, checkKek } from './kek.js'
import { generateSigningKey, jwkThumbprint, keyMatchesAlg, type PublicJwk } from './key-generation.js'
import { decryptPrivateKey } from './sealing.js'

/** A decrypted signing key, ready for `tokens/jws.ts` `signJwt`. */
export interface SigningKey {
  kid: string
  alg: SigningAlg
  key: KeyObject
}

/** Options of a {@link KeyRing}, all in seconds. */
export interface KeyRingOptions {
  /**
   * How long a rotated-in key is published before it signs, so that verifiers that cache the JWKS
   * learn it first. Must be at least `cacheTtl` (see {@link KeyRing}).
   */
  activationDelay: number
  /** The longest lifetime of any token the server signs: a superseded key stays published this long. */
  maxTokenLifetime: number
  /** How long the list of keys is cached for signing and verification. */
  cacheTtl: number
}

/** Publication and signing, decided from the key records alone, as functions of `now`. */
function compareAge(a: SigningKeyRecord, b: SigningKeyRecord): number {
  // Older first: activation time, then creation time, then kid as a deterministic tie-break (two
  // instances that created a key in the same second pick the same one).
  return a.activatesAt - b.activatesAt || a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0)
}

function activeKey(records: readonly SigningKeyRecord[], alg: SigningAlg, now: number): SigningKeyRecord | undefined {
  let best: SigningKeyRecord | undefined
  for (const record of records) {
    if (record.alg !== alg || record.activatesAt > now || record.retiredAt !== null) continue
    if (best === undefined || compareAge(record, best) > 0) best = record
  }
  return best
}

/**
 * The records published at `now`. Per algorithm the keys not retired form the succession: each is
 * published while pending, while it signs, and for `maxTokenLifetime` after the next one activated.
 * A retired key signed until it was retired or superseded, whichever came first, and is published
 * for `maxTokenLifetime` after that (not at all if it never signed).
 */
function publishedRecords(
  records: readonly SigningKeyRecord[],
  now: number,
  maxTokenLifetime: number,
): SigningKeyRecord[] {
  const byAlg = new Map<string, SigningKeyRecord[]>()
  for (const record of records) {
    const group = byAlg.get(record.alg)
    if (group) group.push(record)
    else byAlg.set(record.alg, [record])
  }
  const published: SigningKeyRecord[] = []
  for (const group of byAlg.values()) {
    group.sort(compareAge)
    const live = group.filter((record) => record.retiredAt === null)
    live.forEach((record, i) => {
      const next = live[i + 1]
      if (record.activatesAt > now || next === undefined || next.activatesAt > now) {
        // Not yet active, or the active one (every newer key is still pending).
        published.push(record)
      } else if (now < next.activatesAt + maxTokenLifetime) {
        // Superseded when `next` activated; tokens it signed expire within maxTokenLifetime.
        published.push(record)
      }
    })
    for (const record of group) {
      const stoppedAt = signedUntil(record, live, now)
      if (stoppedAt !== null && record.activatesAt < stoppedAt && now < stoppedAt + maxTokenLifetime) published.push(record)
    }
  }
  return published
}

/** When a retired key stopped signing: its retirement, or the activation of a newer key not retired if earlier. Null for a key not retired. */
function signedUntil(record: SigningKeyRecord, live: readonly SigningKeyRecord[], now: number): number | null {
  if (record.retiredAt === null) return null
  const successor = live.find((other) => compareAge(other, record) > 0 && other.activatesAt <= now)
  return successor === undefined ? record.retiredAt : Math.min(record.retiredAt, successor.activatesAt)
}

/** Where a key is in its life at a given time (`KeyRing.list`). */
export type SigningKeyState =
  /** Published, not signing yet. */
  | 'pending'
  /** The key that signs its algorithm's tokens. */
  | 'active'
  /** Replaced by a newer key; published until the tokens it signed have expired. */
  | 'superseded'
  /** Taken out of signing by an administrator; published until the tokens it signed have expired. */
  | 'retired'
  /** No longer published; removed at the next prune. */
  | 'expired'

/** A key as `authcode keys list` shows it: never the private part. */
export interface SigningKeyStatus {
  kid: string
  alg: SigningAlg
  state: SigningKeyState
  createdAt: number
  activatesAt: number
  retiredAt: number | null
  /** When it leaves the JWKS; null while that depends on a rotation yet to come (pending, active). */
  publishedUntil: number | null
}

/** What `KeyRing.retire` did. */
export type Retirement =
  | { kind: 'retired'; key: SigningKeyStatus }
  | { kind: 'unknown' }
  | { kind: 'already_retired'; key: SigningKeyStatus }
  /**
   * Refused: the key signs its algorithm's tokens and no other published key could take over at
   * once; `pending` is a newer key that will, from its `activatesAt`.
   */
  | { kind: 'only_signing_key'; alg: SigningAlg; pending: SigningKeyStatus | undefined }

function parsePublicJwk(record: SigningKeyRecord): PublicJwk & { kid: string; alg: string; use: 'sig' } {
  let parsed: unknown
  try {
    parsed = JSON.parse(record.publicJwk)
  } catch {
    throw new Error(`signing key ${record.kid}: the stored public key is not valid JSON`)
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new Error(`signing key ${record.kid}: the stored public key is not a JWK`)
  }
  const source = parsed as Record<string, unknown>
  // Only public members leave, whatever the row holds.
  const jwk: PublicJwk & { kid: string; alg: string; use: 'sig' } = {
    kty: typeof source.kty === 'string' ? source.kty : '',
    kid: record.kid,
    alg: record.alg,
    use: 'sig',
  }
  for (const member of ['crv', 'x', 'y', 'n', 'e'] as const) {
    const value = source[member]
    if (typeof value === 'string') jwk[member] = value
  }
  return jwk
}

function checkSeconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative number of seconds`)
  }
  return value
}

/**
 * The server's signing keys, over a {@link KeyStore} shared by every instance.
 *
 * Lifecycle per algorithm: a key is inserted (published at once), activates at `activatesAt` (the
 * newest active key signs), is superseded when a newer key activates, stays published for
 * `maxTokenLifetime` after that so every token it signed can still be verified, then is pruned.
 *
 * **Staleness bound.** {@link KeyRing.signingKey} and {@link KeyRing.verificationKey} sit on hot
 * paths and read a cached list of key records that is at most `cacheTtl` seconds old; a rotation
 * or prune done by another process (another instance, `authcode keys rotate`) is seen by this one
 * within `cacheTtl`. Publication and activation are computed from the records at `now`, so a
 * cached key still activates and retires on time. Because `activationDelay >= cacheTtl` (enforced),
 * every instance has seen a rotated-in key before it activates, so all instances switch at the same
 * second and no token is signed by a key after its `supersededAt`. {@link KeyRing.jwks} always
 * reads the store, so a rotation is published at once. Decrypted private keys are cached by kid
 * (a kid is the thumbprint of its key pair, so the entry can never go stale) and dropped when the
 * kid leaves the store.
 *
 * Every method takes `now` (seconds since the epoch); nothing reads the clock.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 JWK Set
 * @example
 * ```ts
 * const ring = new KeyRing(store, kek, { activationDelay: 3600, maxTokenLifetime: 3600, cacheTtl: 60 })
 * await ring.ensureKeys(now)
 * const token = await signJwt(await ring.signingKey('ES256', now), 'at+jwt', claims)
 * ```
 */
export class KeyRing {
  readonly #store: KeyStore
  readonly #kek: Buffer
  readonly #activationDelay: number
  readonly #maxTokenLifetime: number
  readonly #cacheTtl: number

  #cache: { records: SigningKeyRecord[]; fetchedAt: number } | undefined
  #loading: Promise<SigningKeyRecord[]> | undefined
  /** Bumped by every write and fresh read, so an older in-flight read never overwrites the cache. */
  #generation = 0
  readonly #privateKeys = new Map<string, KeyObject>()
  readonly #publicKeys = new Map<string, KeyObject>()

  constructor(store: KeyStore, kek: Buffer, options: KeyRingOptions) {
    checkKek(kek)
    this.#store = store
    this.#kek = kek
    this.#activationDelay = checkSeconds('activationDelay', options.activationDelay)
    this.#maxTokenLifetime = checkSeconds('maxTokenLifetime', options.maxTokenLifetime)
    this.#cacheTtl = checkSeconds('cacheTtl', options.cacheTtl)
    if (this.#activationDelay < this.#cacheTtl) {
      throw new TypeError(
        'activationDelay must be at least cacheTtl, so that every instance sees a new key before it signs',
      )
    }
  }

  /**
   * A 256-bit key for `purpose` (HKDF-SHA256 under the key-encryption key): the same on every
   * instance that shares the secret, distinct per purpose, and never the KEK itself. For MACs the
   * server puts on values it hands out (cookies).
   *
   * @example
   * const cookieKey = ring.deriveKey('authcode cookie signatures v1')
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#kek, 'authcode derived key', purpose, KEK_LENGTH))
  }

  /**
   * Creates a key, active at once, for each algorithm that has none (retired keys do not count). Idempotent.
   *
   * @returns the algorithms it created a key for.
   */
  async ensureKeys(now: number): Promise<SigningAlg[]> {
    const records = await this.#store.listSigningKeys()
    const missing = SIGNING_ALGS.filter((alg) => !records.some((record) => record.alg === alg && record.retiredAt === null))
    if (missing.length === 0) return []
    const created = missing.map((alg) => generateSigningKey(alg, this.#kek, now, now))
    await this.#store.insertSigningKeys(created)
    this.#invalidate()
    return missing
  }

  /**
   * Adds a new key for each algorithm, published at once and signing from `now + activationDelay`.
   * The current keys keep signing until then, and stay published `maxTokenLifetime` longer.
   *
   * @returns the kids of the new keys.
   */
  async rotate(now: number): Promise<string[]> {
    const activatesAt = now + this.#activationDelay
    const created = SIGNING_ALGS.map((alg) => generateSigningKey(alg, this.#kek, now, activatesAt))
    await this.#store.insertSigningKeys(created)
    this.#invalidate()
    return created.map((record) => record.kid)
  }

  /**
   * Every key in the store with where it is in its life at `now`, oldest first. Always reads the store.
   */
  async list(now: number): Promise<SigningKeyStatus[]> {
    const records = await this.#readFresh(now)
    return records.toSorted(compareAge).map((record) => this.#status(record, records, now))
  }

  /**
   * Retires the key `kid` at `now`: it signs nothing from then on (on this instance at once, on the
   * others within `cacheTtl`) and stays published until the tokens it signed have expired, then
   * `prune` removes it. Refused when the key signs its algorithm's tokens and no other published
   * key of that algorithm would sign in its place at once.
   */
  async retire(kid: string, now: number): Promise<Retirement> {
    const records = await this.#readFresh(now)
    const record = records.find((r) => r.kid === kid)
    if (record === undefined) return { kind: 'unknown' }
    if (record.retiredAt !== null) return { kind: 'already_retired', key: this.#status(record, records, now) }
    if (activeKey(records, record.alg, now)?.kid === kid) {
      const published = new Set(publishedRecords(records, now, this.#maxTokenLifetime).map((r) => r.kid))
      const without = records.map((r) => (r.kid === kid ? { ...r, retiredAt: now } : r))
      const successor = activeKey(without, record.alg, now)
      if (successor === undefined || !published.has(successor.kid)) {
        const pending = records.filter((r) => r.alg === record.alg && r.retiredAt === null && r.activatesAt > now).sort(compareAge)[0]
        return { kind: 'only_signing_key', alg: record.alg, pending: pending && this.#status(pending, records, now) }
      }
    }
    if (!(await this.#store.retireSigningKey(kid, now))) {
      // Retired meanwhile by another process.
      const current = (await this.#readFresh(now)).find((r) => r.kid === kid)
      return current === undefined ? { kind: 'unknown' } : { kind: 'already_retired', key: this.#status(current, records, now) }
    }
    this.#invalidate()
    const retired = { ...record, retiredAt: now }
    return { kind: 'retired', key: this.#status(retired, records.map((r) => (r.kid === kid ? retired : r)), now) }
  }

  #status(record: SigningKeyRecord, records: readonly SigningKeyRecord[], now: number): SigningKeyStatus {
    const status = { kid: record.kid, alg: record.alg, createdAt: record.createdAt, activatesAt: record.activatesAt, retiredAt: record.retiredAt }
    const published = publishedRecords(records, now, this.#maxTokenLifetime).some((r) => r.kid === record.kid)
    const live = records.filter((r) => r.alg === record.alg && r.retiredAt === null).sort(compareAge)
    if (record.retiredAt !== null) {
      const stoppedAt = signedUntil(record, live, now) ?? record.retiredAt
      const until = record.activatesAt < stoppedAt ? stoppedAt + this.#maxTokenLifetime : record.retiredAt
      return { ...status, state: published ? 'retired' : 'expired', publishedUntil: until }
    }
    if (record.activatesAt > now) return { ...status, state: 'pending', publishedUntil: null }
    if (activeKey(records, record.alg, now)?.kid === record.kid) return { ...status, state: 'active', publishedUntil: null }
    const next = live[live.findIndex((r) => r.kid === record.kid) + 1]
    const until = next === undefined ? null : next.activatesAt + this.#maxTokenLifetime
    return { ...status, state: published ? 'superseded' : 'expired', publishedUntil: until }
  }

  /**
   * The key that signs `alg` tokens at `now`: the one with the greatest `activatesAt <= now` that is not retired.
   * Reads the cached key list (see the staleness bound above).
   *
   * @throws Error when there is no active key for `alg` (run `ensureKeys` at start-up).
   */
  async signingKey(alg: SigningAlg, now: number): Promise<SigningKey> {
    let records = await this.#records(now)
    let record = activeKey(records, alg, now)
    if (record === undefined && this.#mayRefetch(now)) {
      // Perhaps another instance just created it: one fresh read, at most once per second.
      records = await this.#refresh(now)
      record = activeKey(records, alg, now)
    }
    if (record === undefined) throw new Error(`no active ${alg} signing key`)
    return { kid: record.kid, alg, key: this.#privateKey(record, alg) }
  }

  /**
   * The published JWK Set at `now`: every key not yet active, the active key of each algorithm, and
   * each superseded key until `supersededAt + maxTokenLifetime`. Always reads the store.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
   * @see https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys
   */
  async jwks(now: number): Promise<{ keys: JWK[] }> {
    const records = await this.#readFresh(now)
    const published = publishedRecords(records, now, this.#maxTokenLifetime)
    // Newest first within each algorithm, algorithms in SIGNING_ALGS order.
    const order = (alg: string): number => {
      const i = SIGNING_ALGS.indexOf(alg as SigningAlg)
      return i === -1 ? SIGNING_ALGS.length : i
    }
    published.sort((a, b) => order(a.alg) - order(b.alg) || compareAge(b, a))
    return { keys: published.map((record): JWK => parsePublicJwk(record)) }
  }

  /**
   * Deletes the keys that are no longer published at `now` (superseded more than
   * `maxTokenLifetime` ago). Never deletes an active or pending key.
   *
   * @returns the deleted kids.
   */
  async prune(now: number): Promise<string[]> {
    const records = await this.#store.listSigningKeys()
    const published = new Set(publishedRecords(records, now, this.#maxTokenLifetime).map((record) => record.kid))
    const stale = records.filter((record) => !published.has(record.kid)).map((record) => record.kid)
    if (stale.length === 0) return []
    await this.#store.deleteSigningKeys(stale)
    this.#invalidate()
    for (const kid of stale) {
      this.#privateKeys.delete(kid)
      this.#publicKeys.delete(kid)
    }
    return stale
  }

  /**
   * The public key for `kid` if that key is published at `now`, to verify the server's own tokens.
   * Reads the cached key list; an unknown kid causes at most one fresh read per second.
   */
  async verificationKey(kid: string, now: number): Promise<KeyObject | undefined> {
    let records = await this.#records(now)
    if (!records.some((record) => record.kid === kid) && this.#mayRefetch(now)) {
      records = await this.#refresh(now)
    }
    const record = publishedRecords(records, now, this.#maxTokenLifetime).find((r) => r.kid === kid)
    if (record === undefined) return undefined
    let key = this.#publicKeys.get(kid)
    if (key === undefined) {
      const { kty, crv, x, y, n, e } = parsePublicJwk(record)
      key = createPublicKey({ key: { kty, crv, x, y, n, e }, format: 'jwk' })
      this.#publicKeys.set(kid, key)
    }
    return key
  }

  #privateKey(record: SigningKeyRecord, alg: SigningAlg): KeyObject {
    const cached = this.#privateKeys.get(record.kid)
    if (cached !== undefined) return cached
    const der = decryptPrivateKey(record.privateKeyEncrypted, this.#kek, record.kid)
    let key: KeyObject
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    } catch {
      throw new Error(`signing key ${record.kid}: the decrypted private key is not valid PKCS#8`)
    } finally {
      der.fill(0)
    }
    if (!keyMatchesAlg(key, alg) || jwkThumbprint(createPublicKey(key)) !== record.kid) {
      throw new Error(`signing key ${record.kid}: the private key does not match its kid or algorithm`)
    }
    this.#privateKeys.set(record.kid, key)
    return key
  }

  /** The cached records, refreshed when older than cacheTtl (or when the clock went back). */
  async #records(now: number): Promise<SigningKeyRecord[]> {
    const cache = this.#cache
    if (cache !== undefined && now >= cache.fetchedAt && now - cache.fetchedAt < this.#cacheTtl) return cache.records
    return this.#refresh(now)
  }

  /** Out-of-turn reads (unknown kid, no active key) at most once a second, so they cannot flood the store. */
  #mayRefetch(now: number): boolean {
    const cache = this.#cache
    return cache === undefined || now < cache.fetchedAt || now - cache.fetchedAt >= 1
  }

  /** A read of the store shared by concurrent callers (the hot paths). */
  #refresh(now: number): Promise<SigningKeyRecord[]> {
    if (this.#loading !== undefined) return this.#loading
    const generation = ++this.#generation
    const loading = this.#store.listSigningKeys().then((records) => {
      if (this.#generation === generation) this.#adopt(records, now)
      return records
    })
    this.#loading = loading
    const clear = (): void => {
      if (this.#loading === loading) this.#loading = undefined
    }
    loading.then(clear, clear)
    return loading
  }

  /** A read of the store of its own, never shared with one that started earlier. */
  async #readFresh(now: number): Promise<SigningKeyRecord[]> {
    const generation = ++this.#generation
    const records = await this.#store.listSigningKeys()
    if (this.#generation === generation) {
      this.#loading = undefined
      this.#adopt(records, now)
    }
    return records
  }

  #adopt(records: SigningKeyRecord[], now: number): void {
    this.#cache = { records, fetchedAt: now }
    this.#evictMissing(records)
  }

  #invalidate(): void {
    this.#generation++
    this.#cache = undefined
    this.#loading = undefined
  }

  #evictMissing(records: readonly SigningKeyRecord[]): void {
    const kids = new Set(records.map((record) => record.kid))
    for (const kid of this.#privateKeys.keys()) if (!kids.has(kid)) this.#privateKeys.delete(kid)
    for (const kid of this.#publicKeys.keys()) if (!kids.has(kid)) this.#publicKeys.delete(kid)
  }
}
