/**
 * `npm run bench [-- --quick] [-- --profile]`: authcode's token endpoint side by side with
 * oidc-provider 9 and a bare node:http floor (issue 6), plus the whole flow (authorize with a login
 * session and remembered consent, then exchange). authcode runs on SQLite and, when
 * `AUTHCODE_TEST_PG` is set, a second time on a throw-away PostgreSQL database (`authcode-pg`).
 * Every server runs in its own child process, the load generator (autocannon, and the flow driver)
 * in another; only 127.0.0.1 is targeted; every run is bounded in time.
 *
 * Flags:
 *   --quick            2 s runs at c=10 and 50, growth check at 10k/100k only (under two minutes)
 *   --duration N       seconds per run (default 10; quick 2)
 *   --profile          only: code exchange (ES256) at c=50 against authcode started with --cpu-prof;
 *                      prints the top self-time functions and writes them to results/profile-*.txt
 *   --perf             only: the same run recorded on-CPU by Linux perf (every thread, native frames
 *                      included); writes results/perf-code-exchange.txt
 *   --no-growth        skip the growth check
 *   --servers a,b      subset of authcode,authcode-pg,oidc-provider,floor (default all); authcode
 *                      means SQLite and, with AUTHCODE_TEST_PG, PostgreSQL too; authcode-pg only PostgreSQL
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { s256 } from '../../packages/server/dist/protocol/pkce.js'
import { AuthcodeServer, REDIRECT_URI, SCOPES, VERIFIER, type BenchClient } from './authcode.js'
import { FloorServer } from './floor.js'
import { cpuTime } from './process.js'
import { LoadGenerator, type LoadJob, type LoadResult, type RequestJob } from './load.js'
import { OidcProviderServer } from './oidc-provider.js'
import { createBenchDatabase } from './postgres.js'
import { perfAvailable, recordOnCpu, summarizeOnCpu } from './perf.js'
import { topSelfTime } from './profile.js'
import { evaluateTargets, printTable, renderSvg, type GrowthRow, type Row } from './report.js'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    profile: { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    'no-growth': { type: 'boolean', default: false },
    servers: { type: 'string' },
  },
  strict: true,
})

const quick = flags.quick === true
const duration = flags.duration !== undefined ? Number(flags.duration) : quick ? 2 : 10
const warmup = quick ? 0.5 : 2
const concurrencies = quick ? [10, 50] : [1, 10, 50]
const growthSizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]
const servers = new Set((flags.servers ?? 'authcode,authcode-pg,oidc-provider,floor').split(','))
for (const s of servers) {
  if (!['authcode', 'authcode-pg', 'oidc-provider', 'floor'].includes(s)) throw new TypeError(`--servers: unknown server ${s}`)
}
/** Admin URL of the PostgreSQL server for `authcode-pg` (a database is created and dropped there). */
const pgAdminUrl = process.env.AUTHCODE_TEST_PG === undefined || process.env.AUTHCODE_TEST_PG === '' ? undefined : process.env.AUTHCODE_TEST_PG
/** Signed-in users of the whole-flow workload: flows take them in turn (no single hot session row). */
const FLOW_USERS = 100
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url))
mkdirSync(RESULTS, { recursive: true })
const CHALLENGE = s256(VERIFIER)

const log = (line: string) => process.stderr.write(`${line}\n`)

/** Best req/s seen per (server, workload), to size the single-use inputs of the next run. */
const estimate = new Map<string, number>()
function inputsFor(key: string, seconds: number, guess: number): number {
  const rps = Math.max(estimate.get(key) ?? guess, 200)
  return Math.ceil(rps * seconds * 2) + 500
}
function remember(key: string, result: LoadResult): void {
  estimate.set(key, Math.max(estimate.get(key) ?? 0, result.rps))
}

interface Workload {
  name: string
  /** Builds the job (minting its single-use inputs) for `seconds` of load. */
  job(seconds: number, connections: number): Promise<LoadJob>
}

function tokenJob(url: string, client: BenchClient, bodyTemplate: string, inputs: string[] | undefined, connections: number, seconds: number, path = '/token'): RequestJob {
  return { kind: 'requests', url, method: 'POST', path, headers: { authorization: client.authorization }, bodyTemplate, inputs, connections, duration: seconds }
}

const CODE_BODY = `grant_type=authorization_code&code={{value}}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${VERIFIER}`
const REFRESH_BODY = 'grant_type=refresh_token&refresh_token={{value}}'
const INTROSPECT_BODY = 'token={{value}}&token_type_hint=refresh_token'

/** A server whose codes and refresh tokens the bench mints ahead through its own storage. */
interface MintingServer {
  readonly url: string
  readonly clients: Record<'ES256' | 'RS256', BenchClient>
  mintCodes(client: BenchClient, n: number, challenge: string): Promise<string[]>
  mintRefreshTokens(client: BenchClient, n: number): Promise<string[]>
  /** `n` users signed in with a remembered consent to `client`: each user's `Cookie` header. */
  loginSessions(client: BenchClient, n: number): Promise<string[]>
}

/** Where a server differs: endpoint paths. */
interface ServerProfile {
  authorizationPath: string
  introspectionPath: string
}

function authorizePath(profile: ServerProfile, client: BenchClient): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: REDIRECT_URI,
    scope: SCOPES.join(' '),
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    nonce: 'bench-nonce',
  })
  return `${profile.authorizationPath}?${query.toString().replace(/\+/g, '%20')}`
}

/** Status and Location of one authorization request, without following the redirect. */
async function authorizeOnce(url: string, cookie: string | undefined): Promise<{ status: number; location: string }> {
  const response = await fetch(url, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } })
  await response.arrayBuffer()
  return { status: response.status, location: response.headers.get('location') ?? '' }
}

/**
 * Before the flow runs: proves the code comes from the session and the remembered consent. With the
 * cookie the server must redirect to the client with a code; without it, or for a client the user
 * never consented to, it must not.
 */
async function checkFlow(server: MintingServer, profile: ServerProfile, cookie: string): Promise<void> {
  const withCode = (location: string) => location.startsWith(`${REDIRECT_URI}?`) && new URL(location).searchParams.has('code')
  const url = (client: BenchClient) => `${server.url}${authorizePath(profile, client)}&state=check`
  const signedIn = await authorizeOnce(url(server.clients.ES256), cookie)
  const anonymous = await authorizeOnce(url(server.clients.ES256), undefined)
  const noConsent = await authorizeOnce(url(server.clients.RS256), cookie)
  if (!withCode(signedIn.location)) throw new Error(`flow check: with a session and consent, authorize answered ${signedIn.status} ${signedIn.location}`)
  if (withCode(anonymous.location)) throw new Error('flow check: without a session cookie, authorize still issued a code')
  if (withCode(noConsent.location)) throw new Error('flow check: for a client without remembered consent, authorize still issued a code')
  const where = (r: { status: number; location: string }) => `${r.status} ${r.location.replace(server.url, '').replace(/\/[\w-]{20,}$/, '/…')}`
  log(`  flow check: session + consent -> code; no session -> ${where(anonymous)}; no consent -> ${where(noConsent)}`)
}

/** The same workloads for authcode and oidc-provider; only the paths differ. */
function tokenWorkloads(server: MintingServer, label: string, profile: ServerProfile): Workload[] {
  const code = (alg: 'ES256' | 'RS256'): Workload => ({
    name: `code-${alg.toLowerCase()}`,
    async job(seconds, c) {
      const n = inputsFor(`${label}/code`, seconds, 2500)
      return tokenJob(server.url, server.clients[alg], CODE_BODY, await server.mintCodes(server.clients[alg], n, CHALLENGE), c, seconds)
    },
  })
  let introspected: string | undefined
  let cookies: Promise<string[]> | undefined
  const signedIn = async (): Promise<string[]> => {
    const users = await server.loginSessions(server.clients.ES256, FLOW_USERS)
    await checkFlow(server, profile, users[0] as string)
    return users
  }
  return [
    code('ES256'),
    code('RS256'),
    {
      name: 'refresh-es256',
      async job(seconds, c) {
        const n = inputsFor(`${label}/refresh`, seconds, 2500)
        return tokenJob(server.url, server.clients.ES256, REFRESH_BODY, await server.mintRefreshTokens(server.clients.ES256, n), c, seconds)
      },
    },
    {
      name: 'introspect',
      async job(seconds, c) {
        introspected ??= (await server.mintRefreshTokens(server.clients.ES256, 1))[0]
        return tokenJob(server.url, server.clients.ES256, INTROSPECT_BODY.replace('{{value}}', introspected as string), undefined, c, seconds, profile.introspectionPath)
      },
    },
    {
      name: 'discovery',
      async job(seconds, c) {
        return { kind: 'requests', url: server.url, method: 'GET', path: '/.well-known/openid-configuration', headers: {}, bodyTemplate: '', connections: c, duration: seconds }
      },
    },
    {
      // Workload 4: the whole flow per user (authorize with the session, then exchange).
      name: 'flow-es256',
      async job(seconds, c) {
        cookies ??= signedIn()
        return {
          kind: 'flow',
          url: server.url,
          issuer: server.url,
          authorizePath: authorizePath(profile, server.clients.ES256),
          tokenPath: '/token',
          cookies: await cookies,
          authorization: server.clients.ES256.authorization,
          redirectUri: REDIRECT_URI,
          codeVerifier: VERIFIER,
          connections: c,
          duration: seconds,
        }
      },
    },
  ]
}

const AUTHCODE: ServerProfile = { authorizationPath: '/authorize', introspectionPath: '/introspect' }
const OIDC_PROVIDER: ServerProfile = { authorizationPath: '/auth', introspectionPath: '/token/introspection' }
const authcodeWorkloads = (server: AuthcodeServer, label = 'authcode'): Workload[] => tokenWorkloads(server, label, AUTHCODE)
const oidcWorkloads = (server: OidcProviderServer): Workload[] => tokenWorkloads(server, 'oidc-provider', OIDC_PROVIDER)

function floorWorkloads(server: FloorServer): Workload[] {
  return [
    {
      name: 'code-floor',
      async job(seconds, c) {
        const n = inputsFor(`floor-${server.mode}/code`, seconds, 6000)
        const client = { clientId: 'floor', secret: 'floor', authorization: 'Basic Zmxvb3I6Zmxvb3I=' }
        return tokenJob(server.url, client, CODE_BODY, server.mintCodes(n), c, seconds)
      },
    },
  ]
}

/** CPU time per successful request of the process `pid` while `run` ran. */
async function withCpu(pid: number | undefined, run: () => Promise<LoadResult>): Promise<{ result: LoadResult; cpuPerRequest?: { main: number; total: number } }> {
  const before = cpuTime(pid)
  const result = await run()
  const after = cpuTime(pid)
  if (before === undefined || after === undefined || result.ok === 0) return { result }
  return { result, cpuPerRequest: { main: (after.main - before.main) / result.ok, total: (after.total - before.total) / result.ok } }
}

async function measure(load: LoadGenerator, server: string, pid: number | undefined, workload: Workload, rows: Row[]): Promise<void> {
  const kind = workload.name.split('-')[0] as string
  const key = `${server}/${kind}`
  if (warmup > 0) {
    const w = await load.run(await workload.job(warmup, 10))
    remember(key, w)
  }
  for (const c of concurrencies) {
    const job = await workload.job(duration, c)
    const { result, cpuPerRequest } = await withCpu(pid, () => load.run(job))
    remember(key, result)
    rows.push({ server, workload: workload.name, concurrency: c, ...result, ...(cpuPerRequest === undefined ? {} : { cpuPerRequest }) })
    log(
      `  ${server.padEnd(13)} ${workload.name.padEnd(14)} c=${String(c).padEnd(3)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms` +
        (result.non2xx + result.errors > 0 ? `  (${result.non2xx} non-2xx, ${result.errors} errors)` : '') +
        (result.exhausted ? '  (inputs ran out: stopped early)' : '') +
        (result.firstFailure === undefined ? '' : `  (first failure: ${result.firstFailure})`) +
        (cpuPerRequest === undefined ? '' : `  cpu/req ${cpuPerRequest.main.toFixed(0)} µs main, ${cpuPerRequest.total.toFixed(0)} µs all threads`),
    )
  }
}

async function growthCheck(load: LoadGenerator, dir: string): Promise<GrowthRow[]> {
  const server = await AuthcodeServer.start(dir)
  const rows: GrowthRow[] = []
  try {
    const workload = authcodeWorkloads(server, 'authcode-growth')[0] as Workload
    let seeded = 0
    for (const size of growthSizes) {
      const t = Date.now()
      server.seedPastExchanges(size - seeded, server.clients.ES256, `seed${size}`)
      seeded = size
      const counts = await server.counts()
      log(`  growth: ${size.toLocaleString('en')} past exchanges seeded in ${((Date.now() - t) / 1000).toFixed(1)} s ${JSON.stringify(counts)}`)
      if (warmup > 0) remember('authcode-growth/code', await load.run(await workload.job(warmup, 10)))
      for (const c of [10, 50]) {
        const job = await workload.job(duration, c)
        const { result, cpuPerRequest } = await withCpu(server.pid, () => load.run(job))
        remember('authcode-growth/code', result)
        rows.push({ rows: size, concurrency: c, counts, ...result, ...(cpuPerRequest === undefined ? {} : { cpuPerRequest }) })
        log(
          `  growth ${String(size).padStart(8)} rows c=${c}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms` +
            (cpuPerRequest === undefined ? '' : `  cpu/req ${cpuPerRequest.main.toFixed(0)} µs main, ${cpuPerRequest.total.toFixed(0)} µs all threads`),
        )
      }
    }
  } finally {
    await server.stop()
  }
  return rows
}

async function profileRun(load: LoadGenerator, dir: string): Promise<void> {
  const profDir = join(RESULTS, 'profile')
  rmSync(profDir, { recursive: true, force: true })
  mkdirSync(profDir, { recursive: true })
  const server = await AuthcodeServer.start(dir, { execArgv: ['--cpu-prof', '--cpu-prof-dir', profDir] })
  const workload = authcodeWorkloads(server)[0] as Workload
  remember('authcode/code', await load.run(await workload.job(2, 10)))
  const result = await load.run(await workload.job(duration, 50))
  log(`profiled run: code-es256 c=50 ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms (under --cpu-prof)`)
  await server.stop()
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error('no .cpuprofile written')
  const { total, idle, top, byPackage } = topSelfTime(join(profDir, file), 30)
  const lines = [
    `authcode code exchange (ES256), c=50, ${duration} s, ${result.rps.toFixed(0)} req/s under --cpu-prof`,
    `profile ${file}: ${(total / 1000).toFixed(1)} s sampled, ${((100 * idle) / total).toFixed(1)}% idle`,
    '',
    'self time by package (% of non-idle):',
    ...byPackage.slice(0, 15).map((e) => `  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`),
    '',
    'top self-time functions (% of non-idle):',
    ...top.map((e) => `  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}  ${e.where}`),
  ]
  const text = lines.join('\n')
  writeFileSync(join(RESULTS, 'profile-code-exchange.txt'), `${text}\n`)
  process.stdout.write(`${text}\n`)
}

async function perfRun(load: LoadGenerator, dir: string): Promise<void> {
  if (!perfAvailable()) throw new Error('--perf needs Linux perf (Debian: apt-get install linux-perf)')
  // --perf-basic-prof also turns on V8's code log: one file in the run's directory, not an
  // isolate-*.log per thread in the working directory.
  const v8Log = join(dir, 'v8.log')
  const server = await AuthcodeServer.start(dir, { execArgv: ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${v8Log}`] })
  const file = join(tmpdir(), `authcode-perf-${process.pid}.data`)
  try {
    const [code, , refresh] = authcodeWorkloads(server) as [Workload, Workload, Workload]
    for (const [workload, title, out] of [
      [code, 'code exchange (ES256)', 'perf-code-exchange.txt'],
      [refresh, 'refresh (ES256)', 'perf-refresh.txt'],
    ] as const) {
      remember(`authcode/${workload.name.split('-')[0] as string}`, await load.run(await workload.job(2, 10)))
      const job = await workload.job(duration, 50)
      // perf starts after the load has warmed up and stops before it ends: it sees only steady state.
      const recorded = new Promise((resolve) => setTimeout(resolve, 1000)).then(() => recordOnCpu(server.pid as number, Math.max(duration - 2, 1), file))
      const { result, cpuPerRequest } = await withCpu(server.pid, () => load.run(job))
      await recorded
      const text = [
        `authcode ${title}, c=50, ${duration} s, ${result.rps.toFixed(0)} req/s under perf record` +
          (cpuPerRequest === undefined ? '' : `, cpu/req ${cpuPerRequest.main.toFixed(0)} µs main, ${cpuPerRequest.total.toFixed(0)} µs all threads`),
        '',
        summarizeOnCpu(file, server.pid as number),
      ].join('\n')
      writeFileSync(join(RESULTS, out), `${text}\n`)
      process.stdout.write(`${text}\n\n`)
    }
  } finally {
    await server.stop()
    rmSync(file, { force: true })
    rmSync(v8Log, { force: true })
    rmSync(`/tmp/perf-${String(server.pid)}.map`, { force: true }) // --perf-basic-prof's symbol map
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-bench-'))
  const load = new LoadGenerator()
  const started = Date.now()
  try {
    await load.ready
    if (flags.profile === true) {
      await profileRun(load, dir)
      return
    }
    if (flags.perf === true) {
      await perfRun(load, dir)
      return
    }
    const rows: Row[] = []
    if (servers.has('authcode')) {
      log('authcode (SQLite, ES256 access tokens)')
      const server = await AuthcodeServer.start(join(dir, 'authcode') + '-main')
      try {
        for (const w of authcodeWorkloads(server)) await measure(load, 'authcode', server.pid, w, rows)
      } finally {
        await server.stop()
      }
    }
    if (pgAdminUrl !== undefined && (servers.has('authcode') || servers.has('authcode-pg'))) {
      const database = await createBenchDatabase(pgAdminUrl)
      log(`authcode-pg (PostgreSQL database ${database.name}, ES256 access tokens)`)
      try {
        const server = await AuthcodeServer.start(join(dir, 'authcode-pg'), { db: database.url })
        try {
          for (const w of authcodeWorkloads(server, 'authcode-pg')) await measure(load, 'authcode-pg', server.pid, w, rows)
        } finally {
          await server.stop()
        }
      } finally {
        await database.drop()
      }
    } else if (servers.has('authcode-pg')) {
      log('authcode-pg skipped: AUTHCODE_TEST_PG is not set')
    }
    if (servers.has('oidc-provider')) {
      log('oidc-provider 9 (in-memory adapter, ES256 JWT access tokens)')
      const server = await OidcProviderServer.start()
      try {
        for (const w of oidcWorkloads(server)) await measure(load, 'oidc-provider', server.pid, w, rows)
      } finally {
        await server.stop()
      }
    }
    if (servers.has('floor')) {
      for (const mode of ['sync', 'pool'] as const) {
        log(`floor (node:http, SQLite, 2 Ed25519 signatures, ${mode === 'sync' ? 'synchronous' : 'thread pool'})`)
        const server = await FloorServer.start(dir, mode)
        try {
          for (const w of floorWorkloads(server)) await measure(load, `floor-${mode}`, server.pid, w, rows)
        } finally {
          await server.stop()
        }
      }
    }
    const growth = flags['no-growth'] === true || !servers.has('authcode') ? [] : (log('growth check (authcode, code exchange ES256)'), await growthCheck(load, join(dir, 'growth')))

    const targets = evaluateTargets(rows, growth)
    const meta = {
      date: new Date().toISOString(),
      command: `npm run bench --${quick ? ' --quick' : ''}${flags.duration !== undefined ? ` --duration ${duration}` : ''}`,
      quick,
      durationSeconds: duration,
      warmupSeconds: warmup,
      concurrencies,
      node: process.version,
      cpus: (await import('node:os')).cpus().map((c) => c.model)[0],
      cores: (await import('node:os')).availableParallelism(),
      elapsedSeconds: 0,
    }
    process.stdout.write(printTable(rows, growth, targets))
    meta.elapsedSeconds = Math.round((Date.now() - started) / 1000)
    const json = JSON.stringify({ meta, rows, growth, targets }, null, 2)
    const stamp = meta.date.replace(/[:.]/g, '-')
    const name = quick ? 'quick' : 'full'
    writeFileSync(join(RESULTS, `${name}-latest.json`), json)
    writeFileSync(join(RESULTS, `${name}-${stamp}.json`), json)
    writeFileSync(join(RESULTS, `${name}-latest.svg`), renderSvg(rows, meta))
    log(`\nwrote results/${name}-latest.json, results/${name}-${stamp}.json, results/${name}-latest.svg (${meta.elapsedSeconds} s)`)
  } finally {
    load.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
