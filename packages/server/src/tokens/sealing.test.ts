import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decryptPrivateKey, encryptPrivateKey } from './sealing.js'

const kek = randomBytes(32)

describe('encryptPrivateKey / decryptPrivateKey', () => {
  const der = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' })

  it('round-trips in the v1.<iv>.<ciphertext>.<tag> format, with a fresh IV each time', () => {
    const enc = encryptPrivateKey(der, kek, 'kid-1')
    expect(enc).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/)
    expect(decryptPrivateKey(enc, kek, 'kid-1').equals(der)).toBe(true)
    expect(encryptPrivateKey(der, kek, 'kid-1')).not.toBe(enc)
    expect(enc).not.toContain(der.toString('base64url').slice(0, 32))
  })

  it('fails on a tampered ciphertext or tag', () => {
    const enc = encryptPrivateKey(der, kek, 'kid-1')
    const parts = enc.split('.')
    const ct = Buffer.from(parts[2] ?? '', 'base64url')
    ct[0] = (ct[0] ?? 0) ^ 1
    const tampered = [parts[0], parts[1], ct.toString('base64url'), parts[3]].join('.')
    expect(() => decryptPrivateKey(tampered, kek, 'kid-1')).toThrow(/does not match/)
    const tag = Buffer.from(parts[3] ?? '', 'base64url')
    tag[15] = (tag[15] ?? 0) ^ 1
    expect(() => decryptPrivateKey([parts[0], parts[1], parts[2], tag.toString('base64url')].join('.'), kek, 'kid-1')).toThrow(
      /does not match/,
    )
    // A truncated tag is refused, not accepted as a shorter GCM tag.
    expect(() => decryptPrivateKey([parts[0], parts[1], parts[2], (parts[3] ?? '').slice(0, 11)].join('.'), kek, 'kid-1')).toThrow()
    expect(() => decryptPrivateKey('v2.a.b.c', kek, 'kid-1')).toThrow(/format/)
  })

  it('fails with another key-encryption key, saying so without printing key material', () => {
    const enc = encryptPrivateKey(der, kek, 'kid-1')
    const other = randomBytes(32)
    let message = ''
    try {
      decryptPrivateKey(enc, other, 'kid-1')
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/key-encryption secret .* does not match the one the keys were created with/)
    for (const secret of [kek, other, der]) {
      expect(message).not.toContain(secret.toString('base64url').slice(0, 12))
      expect(message).not.toContain(secret.toString('hex').slice(0, 12))
    }
  })

  it('binds the kid: a private key moved to another row fails to decrypt', () => {
    const enc = encryptPrivateKey(der, kek, 'kid-1')
    expect(() => decryptPrivateKey(enc, kek, 'kid-2')).toThrow(/does not match/)
  })

  it('requires a 32-byte key-encryption key', () => {
    expect(() => encryptPrivateKey(der, randomBytes(16), 'kid-1')).toThrow(TypeError)
  })
})
