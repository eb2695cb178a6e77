/**
 * New signing keys: a key pair of the kind each algorithm needs (`algorithms.ts`), its kid the
 * RFC 7638 thumbprint of the public key, its private part sealed at once (`sealing.ts`).
 */
import { createHash, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { SigningKeyRecord } from '../protocol/store.js'
import { SIGNING_KEY_TYPES, isSigningAlg, type SigningAlg } from './algorithms.js'
import { checkKek } from './kek.js'
import { encryptPrivateKey } from './sealing.js'

/** Public members of a JWK, the RFC 7638 required members first. */
export interface PublicJwk {
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

/** A key pair of the kind `alg` signs with (`SIGNING_KEY_TYPES`). */
function generateKeyPair(alg: SigningAlg): { publicKey: KeyObject; privateKey: KeyObject } {
  const kind = isSigningAlg(alg) ? SIGNING_KEY_TYPES[alg] : undefined
  switch (kind?.type) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: kind.minModulusLength, publicExponent: 0x10001 })
    case 'ec':
      return generateKeyPairSync('ec', { namedCurve: kind.namedCurve })
    case 'ed25519':
      return generateKeyPairSync('ed25519')
    default:
      throw new TypeError(`unsupported signing algorithm: ${String(alg)}`)
  }
}

/** Whether `key` is the kind of key `alg` signs with (`SIGNING_KEY_TYPES`: RSA of 2048 bits or more, P-256, Ed25519). */
export function keyMatchesAlg(key: KeyObject, alg: SigningAlg): boolean {
  const kind = isSigningAlg(alg) ? SIGNING_KEY_TYPES[alg] : undefined
  switch (kind?.type) {
    case 'rsa':
      return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= kind.minModulusLength
    case 'ec':
      return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === kind.namedCurve
    case 'ed25519':
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
      retiredAt: null,
    }
  } finally {
    der.fill(0)
  }
}
