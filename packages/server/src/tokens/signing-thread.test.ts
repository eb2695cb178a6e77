import { execFileSync } from 'node:child_process'
import { constants, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { SigningAlg } from '../protocol/store.js'
import { signOnSigningThread } from './signing-thread.js'

const keys: Record<SigningAlg, KeyObject[]> = {
  ES256: [0, 1].map(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  RS256: [0, 1].map(() => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
  EdDSA: [0, 1].map(() => generateKeyPairSync('ed25519').privateKey),
}

/** Verifies a base64url JWS signature the way RFC 7518 / RFC 8037 define it for `alg`. */
function verifies(alg: SigningAlg, key: KeyObject, input: string, signature: string): boolean {
  const data = Buffer.from(input, 'ascii')
  const sig = Buffer.from(signature, 'base64url')
  const pub = createPublicKey(key)
  if (alg === 'ES256') return sig.length === 64 && verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig)
  if (alg === 'RS256') return verify('sha256', data, { key: pub, padding: constants.RSA_PKCS1_PADDING }, sig)
  return verify(null, data, pub, sig)
}

describe('signOnSigningThread', () => {
  it('answers each caller with the signature of its own input, across algorithms and keys in one batch', async () => {
    const asked = Array.from({ length: 60 }, (_, i) => {
      const alg = (['ES256', 'RS256', 'EdDSA'] as const)[i % 3] as SigningAlg
      const key = keys[alg][Math.floor(i / 3) % 2] as KeyObject
      return { alg, key, input: `header${i}.payload${i}` }
    })
    // Asked in one turn: they travel to the thread together and come back together.
    const signatures = await Promise.all(asked.map(({ alg, key, input }) => signOnSigningThread(alg, key, input)))
    asked.forEach(({ alg, key, input }, i) => {
      const signature = signatures[i] as string
      expect(verifies(alg, key, input, signature)).toBe(true)
      // Not some other caller's answer.
      expect(verifies(alg, key, `header${i + 1}.payload${i + 1}`, signature)).toBe(false)
    })
  })

  it('keeps serving keys it has seen and ones it has not, in later turns', async () => {
    const first = await signOnSigningThread('ES256', keys.ES256[0] as KeyObject, 'a.b')
    const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const second = await signOnSigningThread('ES256', rotated, 'a.b')
    expect(verifies('ES256', keys.ES256[0] as KeyObject, 'a.b', first)).toBe(true)
    expect(verifies('ES256', rotated, 'a.b', second)).toBe(true)
    expect(verifies('ES256', keys.ES256[0] as KeyObject, 'a.b', second)).toBe(false)
  })

  it('fails only the signature whose key does not fit, not the rest of its batch', async () => {
    const [good, bad, alsoGood] = await Promise.allSettled([
      signOnSigningThread('ES256', keys.ES256[0] as KeyObject, 'x.y'),
      signOnSigningThread('RS256', keys.EdDSA[0] as KeyObject, 'x.y'),
      signOnSigningThread('EdDSA', keys.EdDSA[0] as KeyObject, 'x.y'),
    ])
    expect(good.status).toBe('fulfilled')
    expect(bad.status).toBe('rejected')
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(TypeError)
    expect(alsoGood.status).toBe('fulfilled')
  })

  it('keeps a process alive while a signature is pending, and lets it exit when idle', () => {
    // A script that signs once and then has nothing left to do: it must print the signature (the
    // thread is referenced while the caller waits) and exit (it is not, once idle).
    // The built module (`npm test` builds first), as the CLI tests run the built CLI.
    const module = fileURLToPath(new URL('../../dist/tokens/signing-thread.js', import.meta.url))
    const script = `
      const { generateKeyPairSync } = await import('node:crypto')
      const { signOnSigningThread } = await import(${JSON.stringify(module)})
      const key = generateKeyPairSync('ed25519').privateKey
      signOnSigningThread('EdDSA', key, 'a.b').then((s) => console.log('signed', s.length))
    `
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(out.trim()).toBe('signed 86')
  })
})
