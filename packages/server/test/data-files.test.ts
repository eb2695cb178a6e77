/**
 * SECURITY 32: the data at rest (the SQLite database with its password and secret hashes,
 * its -wal and -shm, the key-encryption-key file, data/demo.json) is readable by the server's user
 * only: folders are created 0700 and files 0600, whatever the umask. An existing folder or file the
 * group or others may access is a warning at start naming it and its mode, and is left as it is.
 *
 * Through the built CLI (`dist/cli/main.js`, built by `npm test` or `cli.test.ts`) in a fresh
 * working directory per test, as a user runs it.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MAIN, cleanEnv, runCli, startServe, type LogLine, type Served } from './cli-process.js'
import { freePort } from './harness.js'

const dirs: string[] = []
/** A fresh, empty working directory. */
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-data-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8)

/** The mode of `folder` and of every file in it, by name ('.' for the folder). */
function modes(folder: string): Record<string, string> {
  const found: Record<string, string> = { '.': modeOf(folder) }
  for (const name of readdirSync(folder)) found[name] = modeOf(join(folder, name))
  return found
}

/** Every entry of `names` with `mode`, plus the folder at 700. */
const privateModes = (names: string[]): Record<string, string> => Object.fromEntries([['.', '700'], ...names.map((name) => [name, '600'])])

/** `authcode serve --port FREE ARGS` in `cwd`, once it has announced itself. */
async function serve(cwd: string, args: string[] = []): Promise<Served> {
  return startServe(cwd, ['--port', String(await freePort()), ...args])
}

/** A start log line about a folder or file whose mode is too loose. */
interface ModeLine extends LogLine {
  path?: string
  mode?: string
}

const WARN = 40

describe.skipIf(process.platform === 'win32').concurrent('SECURITY 32: data at rest is readable by the server\'s user only', () => {
  it('migrate on a fresh directory: data/ is 0700, authcode.db 0600', async () => {
    const cwd = workdir()
    const result = await runCli(cwd, ['migrate'])
    expect(result.code, result.stderr).toBe(0)
    expect(modes(join(cwd, 'data'))).toEqual(privateModes(['authcode.db']))
  })

  it('client add on a fresh directory: the database and the key-encryption-key file are 0600', async () => {
    const cwd = workdir()
    const result = await runCli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb'])
    expect(result.code, result.stderr).toBe(0)
    expect(modes(join(cwd, 'data'))).toEqual(privateModes(['authcode.db', 'secret']))
  })

  it('--db in another folder: that folder is 0700 and the database 0600 too', async () => {
    const cwd = workdir()
    const result = await runCli(cwd, ['migrate', '--db', 'sqlite:store/nested/authcode.db'])
    expect(result.code, result.stderr).toBe(0)
    expect(modeOf(join(cwd, 'store'))).toBe('700')
    expect(modes(join(cwd, 'store', 'nested'))).toEqual(privateModes(['authcode.db']))
  })

  it('the modes do not come from the umask: the same under umask 000', async () => {
    const cwd = workdir()
    const code = await new Promise<number | null>((resolveExit, reject) => {
      const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, MAIN, 'client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb'], {
        cwd,
        env: cleanEnv(),
        stdio: 'ignore',
      })
      child.on('error', reject)
      child.on('exit', resolveExit)
    })
    expect(code).toBe(0)
    expect(modes(join(cwd, 'data'))).toEqual(privateModes(['authcode.db', 'secret']))
  })

  it('serve --demo on a fresh directory: while it runs, data/ is 0700 and every file (with -wal, -shm, demo.json) 0600; no warning', async () => {
    const cwd = workdir()
    const server = await serve(cwd, ['--demo'])
    try {
      expect(modes(join(cwd, 'data'))).toEqual(privateModes(['authcode.db', 'authcode.db-shm', 'authcode.db-wal', 'demo.json', 'secret']))
      expect(server.logs().filter((line) => line.level >= WARN)).toEqual([])
    } finally {
      expect((await server.stop()).code).toBe(0)
    }
  }, 60_000)

  it('an existing 0755 data folder and 0644 database: a warning at start names each path and mode, and the modes are left as they are', async () => {
    const cwd = workdir()
    const data = join(cwd, 'data')
    expect((await runCli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb'])).code).toBe(0)
    chmodSync(data, 0o755)
    chmodSync(join(data, 'authcode.db'), 0o644)

    const server = await serve(cwd)
    let warnings: ModeLine[]
    try {
      warnings = server.logs<ModeLine>().filter((line) => line.level === WARN)
    } finally {
      expect((await server.stop()).code).toBe(0)
    }
    const db = join(data, 'authcode.db')
    // -wal and -shm, made by SQLite after the database's mode, are as loose.
    expect(warnings.map(({ path, mode }) => ({ path, mode }))).toEqual([
      { path: data, mode: '755' },
      { path: db, mode: '644' },
      { path: `${db}-shm`, mode: '644' },
      { path: `${db}-wal`, mode: '644' },
    ])
    expect(warnings[0]?.msg).toBe(`${data} is accessible by other users (mode 755); restrict it with: chmod 700 ${data}`)
    expect(warnings[1]?.msg).toBe(`${db} is accessible by other users (mode 644); restrict it with: chmod 600 ${db}`)
    expect(modeOf(data)).toBe('755')
    expect(modeOf(db)).toBe('644')
  }, 60_000)
})
