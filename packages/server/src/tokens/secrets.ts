/**
 * Random values and how they are kept. Codes, refresh tokens, session ids and client secrets are
 * 256-bit random values, so a single SHA-256 is a sufficient at-rest hash (a slow hash protects
 * guessable inputs; these are not). Passwords are guessable and get scrypt.
 */
import { createHash, randomBytes, randomFillSync, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

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

/** Verifies a password against `hashPassword` output in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  const salt = Buffer.from(parts[4] ?? '', 'base64url')
  const expected = Buffer.from(parts[5] ?? '', 'base64url')
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p) || expected.length === 0) {
    return false
  }
  const key = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: SCRYPT.maxmem })
  return timingSafeEqual(key, expected)
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
