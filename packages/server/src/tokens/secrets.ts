/**
 * Random values and how they are kept. Codes, refresh tokens, session ids, client secrets and
 * admin tokens are 256-bit random values, so a single SHA-256 is a sufficient at-rest hash (a slow
 * hash protects guessable inputs; these are not). Passwords are guessable and get scrypt; hashes
 * imported from elsewhere (bcrypt, argon2id) are verified as they are and replaced by scrypt at
 * the user's next sign-in.
 */
import { createHash, randomBytes, randomFillSync, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { argon2Verify, bcryptVerify } from 'hash-wasm'

// Random bytes for tokens and ids, drawn from the CSPRNG 4 KiB at a time (as node:crypto's own
// randomUUID does): one call per token cost a syscall-sized share of every exchange. Each byte is
// handed out once; the pool is refilled, never reused.
const POOL_SIZE = 4096
const pool = Buffer.alloc(POOL_SIZE)
let poolOffset = POOL_SIZE

/** `n` (at most 4096) fresh random bytes, in a buffer of their own. */
function poolBytes(n: number): Buffer {
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + n))
  pool.fill(0, poolOffset, poolOffset + n)
  poolOffset += n
  return bytes
}

/** A 256-bit random value, base64url (43 characters). RFC 6749 §10.10 asks for at least 128. */
export function randomToken(): string {
  return poolBytes(32).toString('base64url')
}

/**
 * A UUID version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then 74 random bits. For row ids
 * that are not secrets (grant ids, access-token `jti`): ids made close in time sort close together,
 * so the rows a group commit writes share index pages instead of each dirtying a random one.
 *
 * @example
 * timeOrderedId() // '019aab41-7f3c-7a1e-9c2d-4e5f60718293'
 */
export function timeOrderedId(now = Date.now()): string {
  const bytes = poolBytes(16)
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f) // version 7
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f) // variant 10
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The at-rest form of a high-entropy secret (code, refresh token, session id, client secret). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/**
 * Compares two strings in time that depends on their length only, never on where they differ.
 * Lengths are not secret where this is used (hashes, PKCE challenges, CSRF tokens: fixed formats),
 * so strings of different lengths are unequal at once; hashing both first to equalise lengths cost
 * two SHA-256 per comparison, four per code exchange.
 */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8')
  const bb = Buffer.from(b, 'utf8')
  return ba.length === bb.length && timingSafeEqual(ba, bb)
}

// scrypt parameters (RFC 7914): N=2^15, r=8, p=3, one of the settings OWASP's Password Storage
// Cheat Sheet lists as equal to its minimum (N=2^17, r=8, p=1) in work, with a quarter of its
// memory (32 MiB per hash, so concurrent sign-ins stay affordable). Stored with each hash, so they
// can be raised again: a hash with other parameters is replaced at the user's next sign-in.
const SCRYPT = { N: 2 ** 15, r: 8, p: 3, keylen: 32, maxmem: 64 * 1024 * 1024 } as const

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, SCRYPT.keylen, SCRYPT)
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}

/**
 * Verifies a password against a stored hash: `hashPassword` output (in constant time), or an
 * imported bcrypt or argon2id hash (`passwordHashProblem` says which are accepted). A malformed or
 * unsupported hash never matches and never throws.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  switch (passwordHashScheme(stored)) {
    case 'scrypt':
      return verifyScrypt(password, stored)
    // An imported hash outside the bounds of `passwordHashProblem` is never run: it could cost a sign-in seconds.
    case 'bcrypt':
      return passwordHashProblem(stored) === undefined && bcryptVerify({ password, hash: stored }).catch(() => false)
    case 'argon2id':
      return passwordHashProblem(stored) === undefined && argon2Verify({ password, hash: stored }).catch(() => false)
    case undefined:
      return false
  }
}

async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const parsed = parseScrypt(stored)
  if (parsed === undefined) return false
  const { N, r, p, salt, expected } = parsed
  try {
    const key = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: SCRYPT.maxmem })
    return timingSafeEqual(key, expected)
  } catch {
    // Parameters node refuses (N not a power of two, beyond maxmem): no password matches.
    return false
  }
}

function parseScrypt(stored: string): { N: number; r: number; p: number; salt: Buffer; expected: Buffer } | undefined {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  const salt = Buffer.from(parts[4] ?? '', 'base64url')
  const expected = Buffer.from(parts[5] ?? '', 'base64url')
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p) || expected.length === 0) return undefined
  return { N, r, p, salt, expected }
}

/** The password hash schemes a stored hash may use. */
export type PasswordHashScheme = 'scrypt' | 'bcrypt' | 'argon2id'

function passwordHashScheme(stored: string): PasswordHashScheme | undefined {
  if (stored.startsWith('scrypt$')) return 'scrypt'
  if (/^\$2[aby]\$/.test(stored)) return 'bcrypt'
  if (stored.startsWith('$argon2id$')) return 'argon2id'
  return undefined
}

// Bounds on the work an imported hash may ask of every sign-in: above them one login would hold a
// core (bcrypt cost 2^16 rounds) or a great deal of memory (argon2id m, scrypt N·r) for seconds.
const BCRYPT_COSTS = { min: 4, max: 15 } as const
const ARGON2_MAX = { memoryKiB: 256 * 1024, time: 10, parallelism: 16 } as const

/** bcrypt's modular crypt format: `$2b$` cost `$` 22 characters of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/
/** An argon2id PHC string (version 19): `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, unpadded base64. */
const ARGON2ID = /^\$argon2id\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,88})\$([A-Za-z0-9+/]{16,172})$/

/**
 * Why `stored` cannot be a user's password hash here, or undefined when it can: `hashPassword`
 * output (any parameters node accepts within scrypt's memory bound), a bcrypt hash (`$2a$`, `$2b$`,
 * `$2y$`, cost 4 to 15) or an argon2id PHC string (version 19, at most 256 MiB, t ≤ 10, p ≤ 16).
 *
 * @example
 * passwordHashProblem('$2b$10$…') // undefined
 * passwordHashProblem('md5$…')   // 'not a scrypt, bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash'
 */
export function passwordHashProblem(stored: string): string | undefined {
  switch (passwordHashScheme(stored)) {
    case 'scrypt': {
      const parsed = parseScrypt(stored)
      if (parsed === undefined || parsed.salt.length < 8 || parsed.expected.length < 16) return 'a malformed scrypt hash (scrypt$N$r$p$salt$hash)'
      const { N, r, p } = parsed
      if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || p > 16 || 128 * N * r > SCRYPT.maxmem) {
        return `scrypt parameters out of range (N a power of two, 128·N·r at most ${SCRYPT.maxmem / 1024 / 1024} MiB, p at most 16)`
      }
      return undefined
    }
    case 'bcrypt': {
      const cost = BCRYPT.exec(stored)?.[1]
      if (cost === undefined) return 'a malformed bcrypt hash'
      if (Number(cost) < BCRYPT_COSTS.min || Number(cost) > BCRYPT_COSTS.max) return `bcrypt cost ${cost} out of range (${BCRYPT_COSTS.min} to ${BCRYPT_COSTS.max})`
      return undefined
    }
    case 'argon2id': {
      const match = ARGON2ID.exec(stored)
      if (match === null) return 'a malformed argon2id hash (expected $argon2id$v=19$m=…,t=…,p=…$salt$hash)'
      const [m, t, p] = match.slice(1, 4).map(Number) as [number, number, number]
      if (m < 8 * p || m > ARGON2_MAX.memoryKiB || t < 1 || t > ARGON2_MAX.time || p < 1 || p > ARGON2_MAX.parallelism) {
        return `argon2id parameters out of range (m at most ${ARGON2_MAX.memoryKiB} KiB, t at most ${ARGON2_MAX.time}, p at most ${ARGON2_MAX.parallelism})`
      }
      return undefined
    }
    case undefined:
      return 'not a scrypt, bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash'
  }
}

/** Whether `stored` was made with other parameters than today's (`hashPassword` would make a different kind). */
export function passwordNeedsRehash(stored: string): boolean {
  const [scheme, N, r, p] = stored.split('$')
  return scheme !== 'scrypt' || Number(N) !== SCRYPT.N || Number(r) !== SCRYPT.r || Number(p) !== SCRYPT.p
}

/**
 * A hash to verify against when the user does not exist, so that an unknown username costs the
 * same time as a wrong password (SECURITY.md 7). Computed once, lazily.
 */
let dummyHash: Promise<string> | undefined
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomToken())
  return dummyHash
}
