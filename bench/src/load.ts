/**
 * The load generator: wrk (wrk.ts) when it is installed, else autocannon in a process of its own
 * (load-process.ts, one for the whole benchmark, so that it never shares a process or its event
 * loop with a server). Whole flows go to wrk's flow script, or to the Node flow driver
 * (flow-driver.ts, in the same process as autocannon) when wrk is not used.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runWrk, wrkVersion } from './wrk.js'

/** wrk's threads: one per core of this 2-core machine (the servers share the same cores). */
const WRK_THREADS = 2

/** One autocannon run: the same request, or one request per pre-minted input. */
export interface RequestJob {
  kind: 'requests'
  url: string
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  /** Form body; `{{value}}` is replaced by the next input (URL-encoded) when `inputs` is given. */
  bodyTemplate: string
  /** Single-use values, one per request, in order. */
  inputs?: string[]
  connections: number
  /** Seconds. */
  duration: number
}

/**
 * The whole authorization code flow per iteration (flow-driver.ts): GET the authorization endpoint
 * with a user's login session cookie (consent already remembered), which must redirect straight to
 * `redirectUri` with a code, `state` and `iss`; then POST the token endpoint exchanging that code.
 */
export interface FlowJob {
  kind: 'flow'
  /** Base URL of the server; must be http://127.0.0.1:PORT. */
  url: string
  /** Expected `iss` of the authorization response (RFC 9207). */
  issuer: string
  /** Authorization endpoint path and query, without `state` (each flow appends its own). */
  authorizePath: string
  tokenPath: string
  /** One `Cookie` header per signed-in user; flows take them in turn. */
  cookies: string[]
  /** client_secret_basic `Authorization` header of the client. */
  authorization: string
  redirectUri: string
  codeVerifier: string
  connections: number
  /** Seconds. */
  duration: number
}

export type LoadJob = RequestJob | FlowJob

export interface LoadResult {
  requests: number
  ok: number
  non2xx: number
  errors: number
  seconds: number
  /** Successful responses per second. */
  rps: number
  /** Milliseconds. */
  p50: number
  p99: number
  mean: number
  max: number
  usedInputs: number
  exhausted: boolean
  /** The first failure of a flow run, for the log (flows only). */
  firstFailure?: string
}

/**
 * One result from runs that went on at the same time (one per server instance): counts summed,
 * req/s summed over each run's own time; p50 the mean of the runs' p50s weighted by their
 * successes, p99 and max the largest (percentiles of separate runs cannot be merged exactly).
 */
export function mergeResults(results: LoadResult[]): LoadResult {
  const [only] = results
  if (results.length === 1 && only !== undefined) return only
  const sum = (f: (r: LoadResult) => number) => results.reduce((a, r) => a + f(r), 0)
  const ok = sum((r) => r.ok)
  const weighted = (f: (r: LoadResult) => number) => (ok === 0 ? 0 : sum((r) => f(r) * r.ok) / ok)
  const firstFailure = results.find((r) => r.firstFailure !== undefined)?.firstFailure
  return {
    requests: sum((r) => r.requests),
    ok,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    seconds: Math.max(...results.map((r) => r.seconds)),
    rps: sum((r) => r.rps),
    p50: Math.round(weighted((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    mean: Math.round(weighted((r) => r.mean) * 100) / 100,
    max: Math.max(...results.map((r) => r.max)),
    usedInputs: sum((r) => r.usedInputs),
    exhausted: results.some((r) => r.exhausted),
    ...(firstFailure === undefined ? {} : { firstFailure }),
  }
}

export type LoadGeneratorName = 'wrk' | 'autocannon'

export class LoadGenerator {
  /** Which generator runs the load, and its version, for the log, the table and the JSON. */
  readonly name: LoadGeneratorName
  readonly version: string
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>()
  #nextId = 1
  readonly ready: Promise<void>

  /** wrk when it is installed (unless `prefer` is autocannon), else autocannon. */
  constructor(prefer: LoadGeneratorName = 'wrk') {
    const wrk = prefer === 'wrk' ? wrkVersion() : undefined
    this.name = wrk === undefined ? 'autocannon' : 'wrk'
    this.version = wrk ?? 'autocannon 8 (Node)'
    this.#child = fork(fileURLToPath(new URL('./load-process.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('error', reject)
      this.#child.once('exit', (code) => reject(new Error(`load generator exited (${String(code)})`)))
      this.#child.on('message', (message: { ready?: boolean; id?: number; result?: LoadResult; error?: string }) => {
        if (message.ready) {
          resolve()
          return
        }
        const pending = this.#pending.get(message.id ?? -1)
        if (pending === undefined) return
        this.#pending.delete(message.id ?? -1)
        if (message.error !== undefined) pending.reject(new Error(message.error))
        else pending.resolve(message.result as LoadResult)
      })
    })
  }

  /** Runs `job`; several jobs (one per server instance) run at the same time, their figures merged. */
  async run(job: LoadJob | LoadJob[]): Promise<LoadResult> {
    if (Array.isArray(job)) {
      const threads = Math.max(1, Math.floor(WRK_THREADS / job.length))
      return mergeResults(await Promise.all(job.map((j) => this.#runOne(j, threads))))
    }
    return this.#runOne(job, WRK_THREADS)
  }

  async #runOne(job: LoadJob, threads: number): Promise<LoadResult> {
    if (this.name === 'wrk') return runWrk(job, threads)
    await this.ready
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#child.send({ id, job })
    })
  }

  close(): void {
    this.#child.removeAllListeners('exit')
    this.#child.kill('SIGTERM')
  }
}
