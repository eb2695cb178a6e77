/**
 * The key-encryption key (KEK) that seals the private signing keys at rest (SECURITY.md 25): derived
 * from `AUTHCODE_SECRET` with HKDF, or read from `<dataDir>/secret`, which is created on first start.
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
import { hkdfSync, randomBytes } from 'node:crypto'

/** Bytes of the key-encryption key (AES-256). */
export const KEK_LENGTH = 32
const MIN_SECRET_LENGTH = 32
// HKDF (RFC 5869) salt and info: fixed, naming this one use, so the same AUTHCODE_SECRET used for
// anything else never yields the same key.
const KEK_SALT = 'authcode key-encryption-key salt v1'
const KEK_INFO = 'authcode signing key encryption (AES-256-GCM) v1'
const SECRET_FILE = 'secret'
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/

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

/** @throws TypeError when `kek` is not a 32-byte Buffer. */
export function checkKek(kek: Buffer): void {
  if (!Buffer.isBuffer(kek) || kek.length !== KEK_LENGTH) {
    throw new TypeError(`the key-encryption key must be a ${KEK_LENGTH}-byte Buffer`)
  }
}
