/**
 * The package as a user gets it: `npm pack`ed, installed into a fresh project. Installing it builds
 * no native module and brings no framework or driver (they are optional peer dependencies); its
 * type declarations compile with `skipLibCheck: false`, the main entry alone and then every subpath
 * once its framework or driver is installed, and so do the README's examples; the subpaths load at
 * runtime, `/sqlite` without better-sqlite3 until a store is opened.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const LOCK = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> }
/** The version this repository locks, so the install is served from npm's cache when it can be. */
const locked = (name: string): string => `${name}@${LOCK.packages[`node_modules/${name}`]?.version ?? 'latest'}`

let dir: string
let project: string

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout, stderr } = await run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } })
  return stdout + stderr
}

/** Every installed package, by folder (scoped ones included). */
function installed(nodeModules: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    if (entry.name.startsWith('@')) {
      for (const scoped of readdirSync(join(nodeModules, entry.name))) found.push(`${entry.name}/${scoped}`)
    } else found.push(entry.name)
  }
  return found
}

/** Packages that would run a build step or compile native code on install. */
function buildingPackages(nodeModules: string): string[] {
  return installed(nodeModules).filter((name) => {
    const folder = join(nodeModules, name)
    const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; gypfile?: boolean }
    const scripts = manifest.scripts ?? {}
    return manifest.gypfile === true || existsSync(join(folder, 'binding.gyp')) || ['preinstall', 'install', 'postinstall'].some((s) => s in scripts)
  })
}

async function compile(files: Record<string, string>): Promise<string> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(project, name), text)
  try {
    await run(process.execPath, [TSC, '-p', project], { cwd: project })
    return ''
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error)
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authcode-client-package-'))
  // What is packed is what is built: build first (npm test has, but a single run may not have).
  await run(process.execPath, [TSC, '--build', join(ROOT, 'packages/asyncapi'), join(ROOT, 'packages/client')], { cwd: ROOT })
  for (const pkg of ['asyncapi', 'client']) await npm(['pack', '--ignore-scripts', '--pack-destination', dir], join(ROOT, 'packages', pkg))
  project = join(dir, 'app')
  await run('mkdir', [project])
  const tarballs = { '@authcode/client': 'file:../authcode-client-0.1.0.tgz', '@authcode/asyncapi': 'file:../authcode-asyncapi-0.1.0.tgz' }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module', dependencies: tarballs, overrides: tarballs }, null, 2))
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] }, include: ['*.ts'] }),
  )
}, 120_000)

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('npm install @authcode/client in a fresh project', () => {
  it('installs no native module, no framework and no driver; nothing runs a build step', async () => {
    await npm(['install', '--foreground-scripts'], project)
    const nodeModules = join(project, 'node_modules')
    const names = installed(nodeModules)
    expect(names).toContain('@authcode/client')
    expect(names).toContain('oauth4webapi')
    for (const optional of ['better-sqlite3', 'ioredis', 'express', 'fastify', 'hono', 'node-gyp', 'prebuild-install']) expect(names).not.toContain(optional)
    expect(buildingPackages(nodeModules)).toEqual([])
  }, 180_000)

  it('its declarations compile with skipLibCheck: false (the main entry, beside @types/node)', async () => {
    await npm(['install', '--save-dev', '--ignore-scripts', locked('@types/node')], project)
    const errors = await compile({
      'main.ts': `import { OAuthClient, MemoryLoginStateStore, MemoryTokenStore, createAuthHandler, StoreError, type FlowEvent, type TokenStore, type LoginStateStore } from '@authcode/client'
// The Redis stores' declarations need nothing of ioredis's.
import type { RedisConnection, RedisTokenStore } from '@authcode/client/redis'
export type Shared = [RedisConnection, RedisTokenStore]
const tokenStore: TokenStore = new MemoryTokenStore()
const loginStateStore: LoginStateStore = new MemoryLoginStateStore({ maxPerCaller: 10 })
const client = new OAuthClient({
  server: { kind: 'discovery', issuer: 'https://login.example.com' },
  clientId: 'app', clientSecret: 'secret', redirectUri: 'https://app.example.com/callback',
  tokenStore, loginStateStore, sessionTtl: 3600,
  onEvent: (event: FlowEvent) => { if (event.type === 'token') console.log(event.grant) },
})
const auth = createAuthHandler({ client })
export const handle = (request: Request): Promise<Response | undefined> => auth.handle(request, { callerAddress: '192.0.2.1' })
export const down = (error: unknown): boolean => error instanceof StoreError && error.code === 'STORE_UNAVAILABLE'
`,
    })
    expect(errors).toBe('')
  }, 120_000)

  it('each subpath compiles with skipLibCheck: false once its framework or driver is installed, and loads', async () => {
    // ioredis's own declarations import redis-errors, which has its types apart.
    const extras = [...['express', '@types/express', 'fastify', 'ioredis', '@types/better-sqlite3', 'hono', '@hono/node-server'].map(locked), '@types/redis-errors@^1.2.3']
    await npm(['install', '--ignore-scripts', ...extras], project)
    const errors = await compile({
      'subpaths.ts': `import express from 'express'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import Database from 'better-sqlite3'
import { OAuthClient } from '@authcode/client'
import { authcode as expressAuth, requireAuth as expressRequireAuth } from '@authcode/client/express'
import { authcode as fastifyAuth, requireAuth as fastifyRequireAuth } from '@authcode/client/fastify'
import { RedisLoginStateStore, RedisTokenStore } from '@authcode/client/redis'
import { SqliteLoginStateStore, SqliteTokenStore } from '@authcode/client/sqlite'

export async function build(): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true })
  const client = new OAuthClient({
    server: { kind: 'discovery', issuer: 'https://login.example.com' },
    clientId: 'app', clientSecret: 'secret', redirectUri: 'https://app.example.com/callback',
    loginStateStore: new RedisLoginStateStore(redis, { keyPrefix: 'app:' }), tokenStore: new RedisTokenStore(redis),
  })
  const db = new Database(':memory:')
  void [new SqliteLoginStateStore(db), new SqliteTokenStore(db), await SqliteTokenStore.open('sessions.db')]
  const web = express()
  web.use(expressAuth({ client }))
  web.get('/me', expressRequireAuth(), (req, res) => { res.json(req.auth?.claims ?? {}) })
  const app = Fastify()
  await app.register(fastifyAuth, { client })
  app.get('/me', { preHandler: fastifyRequireAuth() }, async (request) => request.auth?.claims ?? {})
}
`,
    })
    expect(errors).toBe('')
    // The READMEs' examples, each a module of its own (fragments, marked with "…", left out).
    const readmes = ['packages/client/README.md', 'README.md'].map((file) => readFileSync(join(ROOT, file), 'utf8')).join('\n')
    const examples = [...readmes.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').filter((code) => !code.includes('…'))
    expect(examples.length).toBeGreaterThanOrEqual(5)
    expect(await compile(Object.fromEntries(examples.map((code, i) => [`readme-${i + 1}.ts`, `${code}\nexport {}\n`])))).toBe('')
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const [express, fastify, redis, sqlite] = await Promise.all(['express', 'fastify', 'redis', 'sqlite'].map((p) => import('@authcode/client/' + p)))
console.log(typeof express.authcode, typeof fastify.authcode, typeof redis.RedisTokenStore, typeof sqlite.SqliteTokenStore)
console.log(await sqlite.SqliteTokenStore.open('x.db').catch((e) => e.message))`,
      ],
      { cwd: project },
    )
    expect(stdout).toBe('function function function function\n@authcode/client/sqlite needs better-sqlite3: npm install better-sqlite3\n')
  }, 180_000)
})
