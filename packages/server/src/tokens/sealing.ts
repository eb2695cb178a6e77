/**
 * Private signing keys sealed at rest (SECURITY.md 25): PKCS#8 encrypted with AES-256-GCM under the
 * key-encryption key (`kek.ts`), the kid bound as additional data.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { checkKek } from './kek.js'

const ENC_VERSION = 'v1'
const IV_LENGTH = 12
const TAG_LENGTH = 16

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
