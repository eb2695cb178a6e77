/**
 * Signing keys (SECURITY.md 25): private parts encrypted at rest under a key-encryption key (KEK),
 * rotation without downtime (a new key is published before it signs), and old public keys served
 * until every token they signed has expired.
 *
 * The KEK comes from `AUTHCODE_SECRET` (HKDF) or from `<dataDir>/secret`, created on first start.
 * Private keys are stored as PKCS#8 sealed with AES-256-GCM, the kid bound as additional data.
 */
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import type { JWK } from 'jose'
import type { KeyStore, SigningAlg, SigningKeyRecord } from '../protocol/store.js'

/** The algorithms the server keeps a key for, in the order keys are created. */
export const SIGNING_ALGS: readonly SigningAlg[] = Object.freeze(['ES256', 'RS256', 'EdDSA'] as const)

const KEK_LENGTH = 32
const MIN_SECRET_LENGTH = 32
// HKDF (RFC 5869) salt and info: fixed, naming this one use, so the same AUTHCODE_SECRET used for
// anything else never yields the same key.
const KEK_SALT = 'authcode key-encryption-key salt v1'
const KEK_INFO = 'authcode signing key encryption (AES-256-GCM) v1'
const SECRET_FILE = 'secret'
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/

const ENC_VERSION = 'v1'
const IV_LENGTH = 12
const TAG_LENGTH = 16

/**
 * The 32-byte key-encryption key that seals the private signing keys at rest.
 *
 * With `secret` (`AUTHCODE_SECRET`, at least 32 characters) the key is derived with HKDF-SHA256.
 * Without it the key is read from `<dataDir>/secret` (base64url of 32 random bytes), which is
 * created on first start with mode 0600. Two processes starting at once agree on one file: it is
 * written to a temporary file and linked into place without replacing an existing one. An existing
 * file that the group or others may access is refused (fix with `chmod 600`).
 *
 * Losing this secret makes the stored signing keys unusable: back it up with the database.
 *
 * @throws TypeError when `secret` is shorter than 32 characters.
 * @throws Error when the secret file is malformed or has loose permissions.
 * @see https://www.rfc-editor.org/rfc/rfc5869 HKDF
 * @example
 * ```ts
 * const kek = loadKeyEncryptionKey({ secret: config.secret, dataDir: config.dataDir })
 * ```
 */
export function loadKeyEncryptionKey(options: { secret?: string; dataDir: string }): Buffer {
  const { secret, dataDir } = options
  if (secret !== undefined) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
      throw new TypeError(
        `AUTHCODE_SECRET must be at least ${MIN_SECRET_LENGTH} characters long ` +
          '(generate one with: openssl rand -base64 32), or unset it to keep the secret in the data directory',
      )
    }
    return Buffer.from(hkdfSync('sha256', secret, KEK_SALT, KEK_INFO, KEK_LENGTH))
  }
  if (typeof dataDir !== 'string' || dataDir === '') {
    throw new TypeError('dataDir must be a non-empty path when AUTHCODE_SECRET is not set')
  }
  const path = join(dataDir, SECRET_FILE)
  try {
    return readSecretFile(path)
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err
  }
  const created = createSecretFile(dataDir, path)
  return created ?? readSecretFile(path)
}

function readSecretFile(path: string): Buffer {
  const fd = openSync(path, 'r')
  try {
    const { mode } = fstatSync(fd)
    // Mode bits mean nothing on Windows; everywhere else only the owner may access the file.
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new Error(
        `${path} is accessible by other users (mode ${(mode & 0o777).toString(8)}); ` +
          `restrict it with: chmod 600 ${path}`,
      )
    }
    const text = readFileSync(fd, 'utf8').trim()
    if (!SECRET_FORMAT.test(text)) {
      throw new Error(`${path} is malformed: expected the base64url encoding of 32 bytes`)
    }
    return Buffer.from(text, 'base64url')
  } finally {
    closeSync(fd)
  }
}

/** Creates the secret file; undefined when another process created it first. */
function createSecretFile(dataDir: string, path: string): Buffer | undefined {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(KEK_LENGTH)
  const content = `${key.toString('base64url')}\n`
  // Complete-or-absent: write a private temporary file, then link it into place. link(2) fails with
  // EEXIST instead of replacing, so a concurrent start never clobbers the other's secret.
  const tmp = join(dataDir, `.${SECRET_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  writeNewFile(tmp, content)
  try {
    linkSync(tmp, path)
  } catch (err) {
    const code = errorCode(err)
    if (code === 'EEXIST') return undefined
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err
    // No hard links on this file system: exclusive create of the file itself.
    try {
      writeNewFile(path, content)
    } catch (err2) {
      if (errorCode(err2) === 'EEXIST') return undefined
      throw err2
    }
  } finally {
    unlinkSync(tmp)
  }
  syncDirectory(dataDir)
  return key
}

function writeNewFile(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600)
  try {
    writeFileSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, fsConstants.O_RDONLY)
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Best effort: not every platform can fsync a directory.
  }
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return undefined
}

function checkKek(kek: Buffer): void {
  if (!Buffer.isBuffer(kek) || kek.length !== KEK_LENGTH) {
    throw new TypeError(`the key-encryption key must be a ${KEK_LENGTH}-byte Buffer`)
  }
}

function aad(kid: string): Buffer {
  return Buffer.from(`authcode signing key ${ENC_VERSION} ${kid}`, 'utf8')
}

/**
 * Seals a PKCS#8 private key with AES-256-GCM under `kek`, binding `kid` as additional
 * authenticated data so that a private key moved to another row fails to decrypt.
 *
 * @returns `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf GCM
 */
export function encryptPrivateKey(pkcs8Der: Buffer, kek: Buffer, kid: string): string {
  checkKek(kek)
  const iv = randomBytes(IV_LENGTH)
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_LENGTH })
  cipher.setAAD(aad(kid))
  const ciphertext = Buffer.concat([cipher.update(pkcs8Der), cipher.final()])
  const tag = cipher.getAuthTag()
  return [ENC_VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.')
}

/**
 * Opens what {@link encryptPrivateKey} sealed for the same `kid`. Returns the PKCS#8 DER.
 *
 * @throws Error when the value is malformed, was sealed under another key-encryption secret, or
 *   belongs to another kid. The message never contains key material.
 */
export function decryptPrivateKey(enc: string, kek: Buffer, kid: string): Buffer {
  checkKek(kek)
  const parts = typeof enc === 'string' ? enc.split('.') : []
  const [version, ivPart, ctPart, tagPart] = parts
  const base64url = /^[A-Za-z0-9_-]*$/
  if (
    parts.length !== 4 ||
    version !== ENC_VERSION ||
    ivPart === undefined ||
    ctPart === undefined ||
    tagPart === undefined ||
    !base64url.test(ivPart) ||
    !base64url.test(ctPart) ||
    !base64url.test(tagPart)
  ) {
    throw new Error(`signing key ${kid}: the stored private key is not in the ${ENC_VERSION} encrypted format`)
  }
  const iv = Buffer.from(ivPart, 'base64url')
  const tag = Buffer.from(tagPart, 'base64url')
  if (iv.length !== IV_LENGTH || tag.length !== TAG_LENGTH) {
    throw new Error(`signing key ${kid}: the stored private key is not in the ${ENC_VERSION} encrypted format`)
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_LENGTH })
    decipher.setAAD(aad(kid))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(Buffer.from(ctPart, 'base64url')), decipher.final()])
  } catch {
    throw new Error(
      `cannot decrypt signing key ${kid}: the key-encryption secret (AUTHCODE_SECRET or <dataDir>/secret) ` +
        'does not match the one the keys were created with, or the stored key was altered',
    )
  }
}

/** Public members of a JWK, the RFC 7638 required members first. */
interface PublicJwk {
  kty: string
  crv?: string
  x?: string
  y?: string
  n?: string
  e?: string
}

/** The RFC 7638 required members of a public key, in lexicographic order. */
function requiredMembers(publicKey: KeyObject): PublicJwk {
  const jwk: JsonWebKey = publicKey.export({ format: 'jwk' })
  const str = (name: string, value: unknown): string => {
    if (typeof value !== 'string' || value === '') throw new TypeError(`public key has no "${name}" member`)
    return value
  }
  switch (jwk.kty) {
    case 'RSA':
      return { e: str('e', jwk.e), kty: 'RSA', n: str('n', jwk.n) }
    case 'EC':
      return { crv: str('crv', jwk.crv), kty: 'EC', x: str('x', jwk.x), y: str('y', jwk.y) }
    case 'OKP':
      return { crv: str('crv', jwk.crv), kty: 'OKP', x: str('x', jwk.x) }
    default:
      throw new TypeError('unsupported public key type')
  }
}

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: the kid of every signing key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3
 * @see https://www.rfc-editor.org/rfc/rfc8037#appendix-A.3 OKP members
 */
export function jwkThumbprint(publicKey: KeyObject): string {
  // The members are built in lexicographic order; JSON.stringify keeps insertion order, no spaces.
  return createHash('sha256').update(JSON.stringify(requiredMembers(publicKey))).digest('base64url')
}

function generateKeyPair(alg: SigningAlg): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (alg) {
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
    default:
      throw new TypeError(`unsupported signing algorithm: ${String(alg)}`)
  }
}

/** Whether `key` is the kind of key `alg` signs with (RFC 7518 §3.3 needs RSA of 2048 bits or more). */
export function keyMatchesAlg(key: KeyObject, alg: SigningAlg): boolean {
  switch (alg) {
    case 'RS256':
      return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519'
    default:
      return false
  }
}

/**
 * A new signing key pair for `alg` (RS256: RSA 2048; ES256: P-256; EdDSA: Ed25519), its kid the
 * RFC 7638 thumbprint, its private part sealed under `kek`.
 *
 * @param activatesAt when the key starts signing (seconds); it is published from `createdAt` on.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RS256, ES256
 * @see https://www.rfc-editor.org/rfc/rfc8037#section-3.1 EdDSA
 */
export function generateSigningKey(
  alg: SigningAlg,
  kek: Buffer,
  createdAt: number,
  activatesAt: number,
): SigningKeyRecord {
  checkKek(kek)
  const { publicKey, privateKey } = generateKeyPair(alg)
  const kid = jwkThumbprint(publicKey)
  const publicJwk = { ...requiredMembers(publicKey), kid, alg, use: 'sig' }
  const der = privateKey.export({ type: 'pkcs8', format: 'der' })
  try {
    return {
      kid,
      alg,
      publicJwk: JSON.stringify(publicJwk),
      privateKeyEncrypted: encryptPrivateKey(der, kek, kid),
      createdAt,
      activatesAt,
    }
  } finally {
    der.fill(0)
  }
}

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
    if (record.alg !== alg || record.activatesAt > now) continue
    if (best === undefined || compareAge(record, best) > 0) best = record
  }
  return best
}

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
    group.forEach((record, i) => {
      const next = group[i + 1]
      if (record.activatesAt > now || next === undefined || next.activatesAt > now) {
        // Not yet active, or the active one (every newer key is still pending).
        published.push(record)
      } else if (now < next.activatesAt + maxTokenLifetime) {
        // Superseded when `next` activated; tokens it signed expire within maxTokenLifetime.
        published.push(record)
      }
    })
  }
  return published
}

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
   * Creates a key, active at once, for each algorithm that has none. Idempotent.
   *
   * @returns the algorithms it created a key for.
   */
  async ensureKeys(now: number): Promise<SigningAlg[]> {
    const records = await this.#store.listSigningKeys()
    const missing = SIGNING_ALGS.filter((alg) => !records.some((record) => record.alg === alg))
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
   * The key that signs `alg` tokens at `now`: the one with the greatest `activatesAt <= now`.
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
