/**
 * `npm run bench [-- --quick] [-- --profile]`: authcode's token endpoint side by side with
 * oidc-provider 9 and a bare node:http floor (issue 6), plus the whole flow (authorize with a login
 * session and remembered consent, then exchange). authcode runs on SQLite and, with `--db` (or
 * `AUTHCODE_TEST_PG`), a second time on a throw-away PostgreSQL database (`authcode-pg`), with
 * `--instances 2` also as two instances on one database (`authcode-pg-x2`). Every server runs in
 * its own child process, the load generator (wrk when installed, else autocannon and the flow
 * driver) in another; only 127.0.0.1 is targeted; every run is bounded in time. Codes and refresh
 * tokens are minted through the front channel by signed-in users (front-channel.ts).
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
 *                      means SQLite and, with a PostgreSQL server, PostgreSQL too; authcode-pg only PostgreSQL
 *   --db URL           the PostgreSQL server for authcode-pg (default AUTHCODE_TEST_PG): a database
 *                      authcode_bench_<random> is created there for the run and dropped
 *   --instances N      authcode-pg also as N instances on one database and one issuer (authcode-pg-xN),
 *                      the load split evenly; CPU per request summed over the instances and PostgreSQL's
 *   --load-generator   wrk (default, when installed) or autocannon
 *   --concurrency a,b  connection counts per workload (default 1,10,50; quick 10,50)
 *   --workloads a,b    subset of code-es256,code-rs256,refresh-es256,introspect,discovery,flow-es256,code-floor
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { s256 } from '../../packages/server/dist/protocol/pkce.js'
import { AuthcodeServer, REDIRECT_URI, SCOPES, VERIFIER, type BenchClient } from './authcode.js'
import { FloorServer } from './floor.js'
import { mintCodes, mintRefreshTokens, type FrontChannel } from './front-channel.js'
import { cpuTimeOf, postgresCpuBetween, postgresCpuSnapshot } from './process.js'
import { LoadGenerator, type LoadGeneratorName, type LoadJob, type LoadResult, type RequestJob } from './load.js'
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
    db: { type: 'string' },
    instances: { type: 'string' },
    'load-generator': { type: 'string' },
    concurrency: { type: 'string' },
    workloads: { type: 'string' },
  },
  strict: true,
})

const quick = flags.quick === true
const duration = flags.duration !== undefined ? Number(flags.duration) : quick ? 2 : 10
const warmup = quick ? 0.5 : 2
const concurrencies = flags.concurrency !== undefined ? flags.concurrency.split(',').map(Number) : quick ? [10, 50] : [1, 10, 50]
if (concurrencies.some((c) => !Number.isInteger(c) || c < 1 || c > 1000)) throw new TypeError(`--concurrency: whole numbers 1 to 1000, got ${String(flags.concurrency)}`)
const WORKLOADS = ['code-es256', 'code-rs256', 'refresh-es256', 'introspect', 'discovery', 'flow-es256', 'code-floor']
const workloads = new Set(flags.workloads?.split(',') ?? WORKLOADS)
for (const w of workloads) {
  if (!WORKLOADS.includes(w)) throw new TypeError(`--workloads: unknown workload ${w}`)
}
const growthSizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]
const servers = new Set((flags.servers ?? 'authcode,authcode-pg,oidc-provider,floor').split(','))
for (const s of servers) {
  if (!['authcode', 'authcode-pg', 'oidc-provider', 'floor'].includes(s)) throw new TypeError(`--servers: unknown server ${s}`)
}
/** Admin URL of the PostgreSQL server for `authcode-pg` (a database is created and dropped there). */
const pgAdminUrl = flags.db ?? (process.env.AUTHCODE_TEST_PG === undefined || process.env.AUTHCODE_TEST_PG === '' ? undefined : process.env.AUTHCODE_TEST_PG)
if (pgAdminUrl !== undefined && !/^postgres(ql)?:\/\//.test(pgAdminUrl)) throw new TypeError(`--db: a postgres:// URL, got ${pgAdminUrl}`)
const instances = flags.instances === undefined ? 1 : Number(flags.instances)
if (!Number.isInteger(instances) || instances < 1 || instances > 8) throw new TypeError(`--instances: 1 to 8, got ${String(flags.instances)}`)
const loadGenerator = (flags['load-generator'] ?? 'wrk') as LoadGeneratorName
if (loadGenerator !== 'wrk' && loadGenerator !== 'autocannon') throw new TypeError(`--load-generator: wrk or autocannon, got ${String(loadGenerator)}`)
/** Signed-in users of the whole-flow workload: flows take them in turn (no single hot session row). */
const FLOW_USERS = 100
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url))
mkdirSync(RESULTS, { recursive: true })
const CHALLENGE = s256(VERIFIER)

const log = (line: string) => process.stderr.write(`${line}\n`)

/**
 * Best req/s seen per (server, workload), e.g. `authcode/code-rs256`, to size the single-use inputs of the next run: three
 * times that rate (a short warm-up on a busy machine can read low), plus 500.
 */
const estimate = new Map<string, number>()
function inputsFor(key: string, seconds: number, guess: number): number {
  const rps = Math.max(estimate.get(key) ?? guess, 200)
  return Math.ceil(rps * seconds * 3) + 500
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

/** A server whose users the bench signs in ahead; codes and refresh tokens come from its front channel. */
interface MintingServer {
  /** The issuer's URL (the first instance's). */
  readonly url: string
  readonly clients: Record<'ES256' | 'RS256', BenchClient>
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

/** Mints `n` single-use inputs and logs how long it took. */
async function minted(what: string, n: number, mint: () => Promise<string[]>): Promise<string[]> {
  const t = Date.now()
  const values = await mint()
  log(`    minted ${n} ${what} through the front channel in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  return values
}

/**
 * The same workloads for authcode and oidc-provider; only the paths differ. Codes and refresh tokens
 * come from the front channel: signed-in users (FLOW_USERS per client, each with a remembered
 * consent to that client only) GET the authorization endpoint, refresh tokens from exchanging them.
 */
function tokenWorkloads(server: MintingServer, label: string, profile: ServerProfile): Workload[] {
  const users: Partial<Record<'ES256' | 'RS256', Promise<string[]>>> = {}
  const signedIn = (alg: 'ES256' | 'RS256'): Promise<string[]> =>
    (users[alg] ??= server.loginSessions(server.clients[alg], FLOW_USERS).then(async (cookies) => {
      // The ES256 users have no consent to the RS256 client: checkFlow proves that it matters.
      if (alg === 'ES256') await checkFlow(server, profile, cookies[0] as string)
      return cookies
    }))
  const channel = async (alg: 'ES256' | 'RS256'): Promise<FrontChannel> => ({
    url: server.url,
    issuer: server.url,
    authorizePath: authorizePath(profile, server.clients[alg]),
    tokenPath: '/token',
    authorization: server.clients[alg].authorization,
    redirectUri: REDIRECT_URI,
    codeVerifier: VERIFIER,
    cookies: await signedIn(alg),
  })
  const code = (alg: 'ES256' | 'RS256'): Workload => ({
    name: `code-${alg.toLowerCase()}`,
    async job(seconds, c) {
      const n = inputsFor(`${label}/code-${alg.toLowerCase()}`, seconds, 2500)
      const front = await channel(alg)
      return tokenJob(server.url, server.clients[alg], CODE_BODY, await minted('codes', n, () => mintCodes(front, n)), c, seconds)
    },
  })
  let introspected: string | undefined
  return [
    code('ES256'),
    code('RS256'),
    {
      name: 'refresh-es256',
      async job(seconds, c) {
        const n = inputsFor(`${label}/refresh-es256`, seconds, 2500)
        const front = await channel('ES256')
        return tokenJob(server.url, server.clients.ES256, REFRESH_BODY, await minted('refresh tokens', n, () => mintRefreshTokens(front, n)), c, seconds)
      },
    },
    {
      name: 'introspect',
      async job(seconds, c) {
        introspected ??= (await mintRefreshTokens(await channel('ES256'), 1))[0]
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
        const cookies = await signedIn('ES256')
        return {
          kind: 'flow',
          url: server.url,
          issuer: server.url,
          authorizePath: authorizePath(profile, server.clients.ES256),
          tokenPath: '/token',
          cookies,
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
        const n = inputsFor(`floor-${server.mode}/code-floor`, seconds, 6000)
        const client = { clientId: 'floor', secret: 'floor', authorization: 'Basic Zmxvb3I6Zmxvb3I=' }
        return tokenJob(server.url, client, CODE_BODY, server.mintCodes(n), c, seconds)
      },
    },
  ]
}

interface Cpu {
  cpuPerRequest?: { main: number; total: number }
  postgresCpuPerRequest?: number
}

/**
 * CPU time per successful request while `run` ran: of the server processes `pids` (summed over
 * instances), and of the local PostgreSQL server working for `database`, when given.
 */
async function withCpu(pids: number[], database: string | undefined, run: () => Promise<LoadResult>): Promise<{ result: LoadResult } & Cpu> {
  const before = pids.length === 0 ? undefined : cpuTimeOf(pids)
  const pgBefore = database === undefined ? undefined : postgresCpuSnapshot(database)
  const result = await run()
  const after = pids.length === 0 ? undefined : cpuTimeOf(pids)
  const pgAfter = database === undefined ? undefined : postgresCpuSnapshot(database)
  if (result.ok === 0) return { result }
  return {
    result,
    ...(before === undefined || after === undefined ? {} : { cpuPerRequest: { main: (after.main - before.main) / result.ok, total: (after.total - before.total) / result.ok } }),
    ...(pgBefore === undefined || pgAfter === undefined ? {} : { postgresCpuPerRequest: postgresCpuBetween(pgBefore, pgAfter) / result.ok }),
  }
}

/** The job for several instances: connections and single-use inputs split evenly, one job per URL. */
function splitJob(job: LoadJob, urls: string[]): LoadJob | LoadJob[] {
  if (urls.length <= 1) return job
  const k = urls.length
  return urls.map((url, i): LoadJob => {
    const connections = Math.max(1, Math.round(job.connections / k))
    if (job.kind === 'flow') return { ...job, url, connections }
    return { ...job, url, connections, ...(job.inputs === undefined ? {} : { inputs: job.inputs.filter((_, j) => j % k === i) }) }
  })
}

/** Where the load goes and whose CPU is read. */
interface Target {
  /** The instances' URLs (jobs are built for the first and split across them). */
  urls: string[]
  pids: number[]
  /** The PostgreSQL database, for its server's CPU. */
  database?: string
}

async function measure(load: LoadGenerator, server: string, target: Target, workload: Workload, rows: Row[]): Promise<void> {
  if (!workloads.has(workload.name)) return
  const key = `${server}/${workload.name}`
  if (warmup > 0) {
    const w = await load.run(splitJob(await workload.job(warmup, 10), target.urls))
    remember(key, w)
  }
  for (const c of concurrencies) {
    const job = splitJob(await workload.job(duration, c), target.urls)
    const { result, cpuPerRequest, postgresCpuPerRequest } = await withCpu(target.pids, target.database, () => load.run(job))
    remember(key, result)
    rows.push({
      server,
      workload: workload.name,
      concurrency: c,
      ...result,
      ...(cpuPerRequest === undefined ? {} : { cpuPerRequest }),
      ...(postgresCpuPerRequest === undefined ? {} : { postgresCpuPerRequest }),
    })
    log(
      `  ${server.padEnd(13)} ${workload.name.padEnd(14)} c=${String(c).padEnd(3)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms` +
        (result.non2xx + result.errors > 0 ? `  (${result.non2xx} non-2xx, ${result.errors} errors)` : '') +
        (result.exhausted ? '  (inputs ran out: stopped early)' : '') +
        (result.firstFailure === undefined ? '' : `  (first failure: ${result.firstFailure})`) +
        (cpuPerRequest === undefined ? '' : `  cpu/req ${cpuPerRequest.main.toFixed(0)} µs main, ${cpuPerRequest.total.toFixed(0)} µs all threads`) +
        (postgresCpuPerRequest === undefined ? '' : `, ${postgresCpuPerRequest.toFixed(0)} µs PostgreSQL`),
    )
  }
}

/** authcode on a fresh PostgreSQL database with `count` instances: every workload, then drop it. */
async function measurePostgres(load: LoadGenerator, adminUrl: string, dir: string, count: number, rows: Row[]): Promise<void> {
  const label = count === 1 ? 'authcode-pg' : `authcode-pg-x${count}`
  const database = await createBenchDatabase(adminUrl)
  log(`${label} (PostgreSQL database ${database.name}${count === 1 ? '' : `, ${count} instances, one issuer`}, ES256 access tokens)`)
  try {
    const server = await AuthcodeServer.start(join(dir, label), { db: database.url, instances: count })
    try {
      for (const w of authcodeWorkloads(server, label)) await measure(load, label, { urls: server.urls, pids: server.pids, database: database.name }, w, rows)
    } finally {
      await server.stop()
    }
  } finally {
    await database.drop()
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
      if (warmup > 0) remember('authcode-growth/code-es256', await load.run(await workload.job(warmup, 10)))
      for (const c of [10, 50]) {
        const job = await workload.job(duration, c)
        const { result, cpuPerRequest } = await withCpu(server.pids, undefined, () => load.run(job))
        remember('authcode-growth/code-es256', result)
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
  remember('authcode/code-es256', await load.run(await workload.job(2, 10)))
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
      remember(`authcode/${workload.name}`, await load.run(await workload.job(2, 10)))
      const job = await workload.job(duration, 50)
      // perf starts after the load has warmed up and stops before it ends: it sees only steady state.
      const recorded = new Promise((resolve) => setTimeout(resolve, 1000)).then(() => recordOnCpu(server.pid as number, Math.max(duration - 2, 1), file))
      const { result, cpuPerRequest } = await withCpu(server.pids, undefined, () => load.run(job))
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
  const load = new LoadGenerator(loadGenerator)
  const started = Date.now()
  try {
    await load.ready
    log(`load generator: ${load.version}${load.name === 'wrk' ? ' (whole flows too, by a Lua script)' : ' (whole flows: the Node flow driver)'}`)
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
        for (const w of authcodeWorkloads(server)) await measure(load, 'authcode', { urls: server.urls, pids: server.pids }, w, rows)
      } finally {
        await server.stop()
      }
    }
    if (pgAdminUrl !== undefined && (servers.has('authcode') || servers.has('authcode-pg'))) {
      await measurePostgres(load, pgAdminUrl, dir, 1, rows)
      if (instances > 1) await measurePostgres(load, pgAdminUrl, dir, instances, rows)
    } else if (servers.has('authcode-pg') || instances > 1) {
      log(`authcode-pg${instances > 1 ? ` (and --instances ${instances})` : ''} skipped: neither --db nor AUTHCODE_TEST_PG names a PostgreSQL server`)
    }
    if (servers.has('oidc-provider')) {
      log('oidc-provider 9 (in-memory adapter, ES256 JWT access tokens)')
      const server = await OidcProviderServer.start()
      try {
        for (const w of oidcWorkloads(server)) await measure(load, 'oidc-provider', { urls: [server.url], pids: server.pid === undefined ? [] : [server.pid] }, w, rows)
      } finally {
        await server.stop()
      }
    }
    if (servers.has('floor')) {
      for (const mode of ['sync', 'pool'] as const) {
        log(`floor (node:http, SQLite, 2 Ed25519 signatures, ${mode === 'sync' ? 'synchronous' : 'thread pool'})`)
        const server = await FloorServer.start(dir, mode)
        try {
          for (const w of floorWorkloads(server)) await measure(load, `floor-${mode}`, { urls: [server.url], pids: server.pid === undefined ? [] : [server.pid] }, w, rows)
        } finally {
          await server.stop()
        }
      }
    }
    const growth = flags['no-growth'] === true || !servers.has('authcode') ? [] : (log('growth check (authcode, code exchange ES256)'), await growthCheck(load, join(dir, 'growth')))

    const targets = evaluateTargets(rows, growth)
    const meta = {
      date: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      loadGenerator: load.version,
      flowDriver: load.name === 'wrk' ? 'wrk Lua script' : 'Node flow driver (flow-driver.ts)',
      instances,
      quick,
      durationSeconds: duration,
      warmupSeconds: warmup,
      concurrencies,
      node: process.version,
      cpus: (await import('node:os')).cpus().map((c) => c.model)[0],
      cores: (await import('node:os')).availableParallelism(),
      elapsedSeconds: 0,
    }
    process.stdout.write(printTable(rows, growth, targets, meta.loadGenerator))
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
