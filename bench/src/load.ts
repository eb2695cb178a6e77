/**
 * The parent's handle on the load-generator process (load-process.ts): one process for the whole
 * benchmark, so that autocannon never shares a process (or its event loop) with a server.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

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

export class LoadGenerator {
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>()
  #nextId = 1
  readonly ready: Promise<void>

  constructor() {
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

  async run(job: LoadJob): Promise<LoadResult> {
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
