/**
 * Helpers for the multi-instance and fault tests: the BUILT `authcode` CLI run as child processes
 * (`serve` instances and admin commands), a fresh database on the shared PostgreSQL server, and a
 * PostgreSQL cluster of the test's own (initdb + pg_ctl) that a test may stop and start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../packages/server/src/storage/database.js'
import { openPostgresDatabase } from '../../packages/server/src/storage/postgres.js'
import { MAIN, cleanEnv, runCli as runCliIn, type CliResult } from '../../packages/server/test/cli-process.js'

export { MAIN, cleanEnv, type CliResult }

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** `AUTHCODE_TEST_PG`, or undefined when unset or empty. */
export function testPgUrl(): string | undefined {
  const url = process.env.AUTHCODE_TEST_PG
  return url === undefined || url === '' ? undefined : url
}

/** Builds the packages so that the CLI under test is the current source; throws when there is no CLI. */
export function ensureBuilt(): void {
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--build'], { cwd: ROOT, encoding: 'utf8' })
  if (!existsSync(MAIN)) {
    throw new Error(`the CLI is not built (${MAIN} is missing): run \`npx tsc --build\` at the repository root\n${build.stdout}${build.stderr}`)
  }
  if (build.status !== 0) console.warn(`tsc --build failed; testing the CLI in dist as it is:\n${build.stdout}${build.stderr}`)
}

/** A secret every instance shares, so that each can decrypt the signing keys in the database. */
export function sharedSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** A temporary directory, removed by `removeTempDirs`. */
const temps: string[] = []
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  temps.push(dir)
  return dir
}
export function removeTempDirs(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** Writes `content` as JSON into a fresh temporary directory and returns the file's path. */
export function writeConfig(content: Record<string, unknown>): string {
  const path = join(tempDir('authcode-config-'), 'authcode.json')
  writeFileSync(path, JSON.stringify(content))
  return path
}

/** Runs `authcode ARGS` to completion (in a fresh temporary directory unless `cwd` is given). */
export function runCli(args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return runCliIn(options.cwd ?? tempDir('authcode-cli-'), args, options)
}

/** Runs the CLI and throws (with its output) unless it exits 0. */
export async function runCliOk(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
  const result = await runCli(args, options)
  if (result.code !== 0) throw new Error(`authcode ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`)
  return result.stdout
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** One `authcode serve` process. */
export interface Instance {
  name: string
  port: number
  /** `http://localhost:PORT`: where to send requests (not necessarily the issuer). */
  url: string
  child: ChildProcess
  /** Everything it printed so far (JSON log lines and the start line). */
  stdout(): string
  stderr(): string
  exited: Promise<Exit>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
  stop(graceMs?: number): Promise<Exit>
}

export interface InstanceOptions {
  name: string
  port: number
  db: string
  issuer: string
  secret: string
  config?: string
  /** How long to wait for the start line. */
  startTimeoutMs?: number
}

const running = new Set<Instance>()

/**
 * Spawns `authcode serve` and resolves once it printed its start line (it listens then).
 * Rejects with its output if it exits first or does not start in time.
 */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const args = [MAIN, 'serve', '--db', options.db, '--port', String(options.port), '--issuer', options.issuer]
  if (options.config !== undefined) args.push('--config', options.config)
  const child = spawn(process.execPath, args, {
    cwd: tempDir(`authcode-${options.name}-`),
    env: cleanEnv({ AUTHCODE_SECRET: options.secret }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<Exit>((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })))
  const url = `http://localhost:${options.port}`
  const instance: Instance = {
    name: options.name,
    port: options.port,
    url,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        const exit = await exited
        clearTimeout(timer)
        running.delete(instance)
        return exit
      }
      running.delete(instance)
      return exited
    },
  }
  running.add(instance)
  const startLine = `authcode authorization server on ${url} (issuer ${options.issuer})`
  const timeoutMs = options.startTimeoutMs ?? 30_000
  await new Promise<void>((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name}: no start line within ${timeoutMs} ms:\n${stdout}\n${stderr}`)), timeoutMs)
    const check = () => {
      if (stdout.includes(startLine)) {
        clearTimeout(timer)
        child.stdout?.off('data', check)
        resolveStart()
      }
    }
    child.stdout?.on('data', check)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`${options.name}: serve exited (${code ?? signal}) before it was ready:\n${stdout}\n${stderr}`))
    })
  })
  return instance
}

/** Stops every instance still running (SIGTERM, SIGKILL after `graceMs`). */
export async function stopAllInstances(graceMs = 10_000): Promise<void> {
  await Promise.all([...running].map((instance) => instance.stop(graceMs)))
}

/** The parsed JSON log lines an instance printed. */
export function logLines(instance: Instance): Array<Record<string, unknown>> {
  return instance
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function poll<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

// A database of the test's own on the shared PostgreSQL server.

/** Creates `authcode_<prefix>_<random>` on the server of `adminUrl`; returns its name and URL. */
export async function createDatabase(adminUrl: string, prefix: string): Promise<{ name: string; url: string }> {
  const name = `authcode_${prefix}_${randomBytes(5).toString('hex')}`
  const db = openPostgresDatabase(adminUrl, { poolSize: 1 })
  try {
    await sql`create database ${sql.id(name)}`.execute(db)
  } finally {
    await db.destroy()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { name, url: url.href }
}

/** Drops a database made by `createDatabase`, closing whatever is still connected to it. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const db = openPostgresDatabase(adminUrl, { poolSize: 1 })
  try {
    await sql`drop database if exists ${sql.id(name)} with (force)`.execute(db)
  } finally {
    await db.destroy()
  }
}

/** A small connection for the test's own checks of what is in the database. */
export function inspect(url: string): Kysely<Database> {
  return openPostgresDatabase(url, { poolSize: 2 })
}

// A PostgreSQL cluster of the test's own: the machine's shared cluster is never stopped.

function postgresBinDir(): string {
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl'))) : []
  versions.sort((a, b) => Number(b) - Number(a))
  if (versions[0] === undefined) throw new Error(`no PostgreSQL server binaries (initdb, pg_ctl) under ${base}`)
  return join(base, versions[0], 'bin')
}

function idOf(flag: '-u' | '-g', user: string): number {
  const result = spawnSync('id', [flag, user], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`no OS user ${user}: ${result.stderr}`)
  return Number(result.stdout.trim())
}

/** Runs a PostgreSQL binary as the `postgres` OS user when we are root (initdb refuses root). */
function asPostgres(bin: string, args: string[]): { command: string; args: string[] } {
  const isRoot = process.getuid?.() === 0
  return isRoot ? { command: 'runuser', args: ['-u', 'postgres', '--', bin, ...args] } : { command: bin, args }
}

function runAsync(command: string, args: string[], timeoutMs: number): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

export class PgCluster {
  readonly dir: string
  readonly data: string
  readonly socketDir: string
  readonly port: number
  readonly #bin = postgresBinDir()
  #removed = false

  private constructor(dir: string, port: number) {
    this.dir = dir
    this.data = join(dir, 'data')
    this.socketDir = join(dir, 'sock')
    this.port = port
  }

  /** `postgres://postgres@127.0.0.1:PORT/DB` (trust authentication). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  /** Creates (initdb, trust authentication, superuser `postgres`) and starts a cluster on `port`. */
  static async create(port: number): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'authcode-pg-'))
    const cluster = new PgCluster(dir, port)
    clusters.add(cluster)
    try {
      mkdirSync(cluster.socketDir)
      if (process.getuid?.() === 0) {
        const uid = idOf('-u', 'postgres')
        const gid = idOf('-g', 'postgres')
        chownSync(dir, uid, gid)
        chownSync(cluster.socketDir, uid, gid)
      }
      const init = asPostgres(join(cluster.#bin, 'initdb'), ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions'])
      const result = await runAsync(init.command, init.args, 60_000)
      if (result.code !== 0) throw new Error(`initdb failed (${result.code}):\n${result.stdout}\n${result.stderr}`)
      await cluster.start()
      return cluster
    } catch (error) {
      await cluster.destroy()
      throw error
    }
  }

  #pgCtl(args: string[]): { command: string; args: string[] } {
    return asPostgres(join(this.#bin, 'pg_ctl'), ['-D', this.data, ...args])
  }

  /** `pg_ctl start -w`: resolves once the server accepts connections. */
  async start(): Promise<void> {
    const options = `-k ${this.socketDir} -p ${this.port} -c listen_addresses=127.0.0.1`
    const { command, args } = this.#pgCtl(['-l', join(this.dir, 'postgres.log'), '-o', options, '-w', '-t', '30', 'start'])
    const result = await runAsync(command, args, 40_000)
    if (result.code !== 0) throw new Error(`pg_ctl start failed (${result.code}):\n${result.stdout}\n${result.stderr}`)
  }

  /** `pg_ctl stop -m MODE -w`: resolves once the server is down. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const { command, args } = this.#pgCtl(['-m', mode, '-w', '-t', '30', 'stop'])
    const result = await runAsync(command, args, 40_000)
    if (result.code !== 0) throw new Error(`pg_ctl stop failed (${result.code}):\n${result.stdout}\n${result.stderr}`)
  }

  /** Stops the cluster if it runs and removes its directory. Never throws. */
  async destroy(): Promise<void> {
    if (this.#removed) return
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      await this.stop('fast').catch(() => this.stop('immediate').catch(() => undefined))
    }
    this.#removed = true
    clusters.delete(this)
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** The last lines of the server log, for failure messages. */
  logTail(): string {
    const result = spawnSync('tail', ['-n', '30', join(this.dir, 'postgres.log')], { encoding: 'utf8' })
    return result.stdout
  }

  /** Synchronous last resort when the test process exits without afterAll. */
  destroySync(): void {
    if (this.#removed) return
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      const { command, args } = this.#pgCtl(['-m', 'immediate', '-w', '-t', '20', 'stop'])
      spawnSync(command, args, { stdio: 'ignore' })
    }
    this.#removed = true
    rmSync(this.dir, { recursive: true, force: true })
  }
}

const clusters = new Set<PgCluster>()
process.once('exit', () => {
  for (const cluster of clusters) cluster.destroySync()
  for (const instance of running) instance.child.kill('SIGKILL')
})
