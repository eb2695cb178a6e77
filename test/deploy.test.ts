/**
 * The deployment example (examples/deploy/): systemd's own checker accepts the unit without a
 * warning about it, and the env file is what systemd's EnvironmentFile= reads as meant. Where
 * `systemd-analyze` is missing the unit check is skipped, and says so.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const deploy = fileURLToPath(new URL('../examples/deploy/', import.meta.url))
const unit = readFileSync(join(deploy, 'authcode.service'), 'utf8')
const envFile = readFileSync(join(deploy, 'authcode.env'), 'utf8')

const systemdAnalyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
const haveSystemdAnalyze = systemdAnalyze.error === undefined && systemdAnalyze.status === 0
if (!haveSystemdAnalyze) {
  console.warn('test/deploy.test.ts: systemd-analyze not found, so examples/deploy/authcode.service is not verified here (Debian package: systemd)')
}

describe('examples/deploy/authcode.service', () => {
  it.skipIf(!haveSystemdAnalyze)('passes systemd-analyze verify with nothing said about it', () => {
    // verify checks that ExecStart's program exists: point it at the Node running this test, so
    // the check holds wherever Node is installed. Everything else is the file as shipped.
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node /m)
    const dir = mkdtempSync(join(tmpdir(), 'authcode-unit-'))
    try {
      const file = join(dir, 'authcode.service')
      writeFileSync(file, unit.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `))
      const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 20_000 })
      // Unknown keys and unparsable values are only warnings (exit 0): any line naming the unit fails.
      const about = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.includes('authcode.service'))
      expect(about).toEqual([])
      expect(result.status, result.stderr).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('runs the server as its own user from the env file, with its state directory and restarts', () => {
    const directives = new Map(unit.split('\n').filter((line) => /^[A-Za-z]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
    expect(directives.get('User')).toBe('authcode')
    expect(directives.get('EnvironmentFile')).toBe('/etc/authcode/authcode.env')
    expect(directives.get('StateDirectory')).toBe('authcode')
    expect(directives.get('StateDirectoryMode')).toBe('0700')
    expect(directives.get('WorkingDirectory')).toBe('/var/lib/authcode')
    expect(directives.get('ExecStart')).toMatch(/ serve$/)
    expect(directives.get('Restart')).toBe('on-failure')
    expect(directives.get('NoNewPrivileges')).toBe('yes')
  })
})

describe('examples/deploy/authcode.env', () => {
  const lines = envFile.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'))
  const settings = new Map(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))

  it('is VARIABLE=value lines only, with no comment after a value (systemd would keep it in the value)', () => {
    for (const line of lines) expect(line).toMatch(/^(AUTHCODE|OTEL)_[A-Z0-9_]+=[^\s#]+$/)
  })

  it('puts the server on loopback behind a trusted proxy, with an https issuer and metrics off the public port', () => {
    expect(settings.get('AUTHCODE_ISSUER')).toMatch(/^https:\/\//)
    expect(settings.get('AUTHCODE_HOST')).toBe('127.0.0.1')
    expect(settings.get('AUTHCODE_TRUST_PROXY')).toBe('127.0.0.1')
    expect(settings.get('AUTHCODE_METRICS_PORT')).not.toBe(settings.get('AUTHCODE_PORT'))
    expect(settings.get('AUTHCODE_DB')).toMatch(/^postgres:\/\//)
    // Never a real secret in an example: the operator generates one.
    expect(settings.has('AUTHCODE_SECRET')).toBe(false)
  })
})
