import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadKeyEncryptionKey } from './kek.js'

describe('loadKeyEncryptionKey', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'authcode-keys-'))
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('derives 32 bytes from AUTHCODE_SECRET with HKDF, deterministically, writing no file', () => {
    const secret = 'a'.repeat(32)
    const a = loadKeyEncryptionKey({ secret, dataDir: dir })
    expect(a).toHaveLength(32)
    expect(loadKeyEncryptionKey({ secret, dataDir: dir }).equals(a)).toBe(true)
    expect(loadKeyEncryptionKey({ secret: 'b'.repeat(32), dataDir: dir }).equals(a)).toBe(false)
    expect(a.equals(Buffer.from(secret).subarray(0, 32))).toBe(false)
    expect(() => statSync(join(dir, 'secret'))).toThrow()
  })

  it('refuses an AUTHCODE_SECRET shorter than 32 characters with a TypeError', () => {
    expect(() => loadKeyEncryptionKey({ secret: 'x'.repeat(31), dataDir: dir })).toThrow(TypeError)
    expect(() => loadKeyEncryptionKey({ secret: '', dataDir: dir })).toThrow(/at least 32 characters/)
  })

  it('creates <dataDir>/secret with mode 0600 (creating dataDir) and reuses it', () => {
    const dataDir = join(dir, 'nested', 'data')
    const first = loadKeyEncryptionKey({ dataDir })
    expect(first).toHaveLength(32)
    const path = join(dataDir, 'secret')
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8').trim()).toBe(first.toString('base64url'))
    expect(loadKeyEncryptionKey({ dataDir }).equals(first)).toBe(true)
  })

  it('never replaces an existing secret file', () => {
    const existing = randomBytes(32)
    writeFileSync(join(dir, 'secret'), existing.toString('base64url'), { mode: 0o600 })
    expect(loadKeyEncryptionKey({ dataDir: dir }).equals(existing)).toBe(true)
    expect(readFileSync(join(dir, 'secret'), 'utf8')).toBe(existing.toString('base64url'))
  })

  it.skipIf(process.platform === 'win32')('refuses a group- or world-readable secret file', () => {
    loadKeyEncryptionKey({ dataDir: dir })
    chmodSync(join(dir, 'secret'), 0o640)
    expect(() => loadKeyEncryptionKey({ dataDir: dir })).toThrow(/chmod 600/)
    chmodSync(join(dir, 'secret'), 0o604)
    expect(() => loadKeyEncryptionKey({ dataDir: dir })).toThrow(/chmod 600/)
  })

  it('refuses a malformed secret file without echoing its content', () => {
    writeFileSync(join(dir, 'secret'), 'hunter2-not-a-key', { mode: 0o600 })
    let message = ''
    try {
      loadKeyEncryptionKey({ dataDir: dir })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/malformed/)
    expect(message).not.toContain('hunter2')
  })
})
