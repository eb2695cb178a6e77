/**
 * The whole-flow load driver (workload 4), run in the load-generator process: autocannon cannot
 * chain dependent requests, so this is a small closed loop over node:http. `connections` loops share
 * one keep-alive agent (at most one socket per loop); each loop runs flows back to back until the
 * fixed duration is over, then finishes the flow it is in (every request times out after
 * `REQUEST_TIMEOUT_MS`). Only 127.0.0.1 is accepted as a target.
 *
 * One flow = GET authorization endpoint (session cookie, consent remembered) → 302/303 to the
 * redirect URI with `code`, the same `state` and `iss` → POST token endpoint (client_secret_basic,
 * code_verifier) → 200 with an access token and an ID token. req/s in the result are successful
 * flows per second; p50/p99 are the latency of whole successful flows.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { FlowJob, LoadResult } from './load.js'

const REQUEST_TIMEOUT_MS = 10_000

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** A flow that got an answer, but not the one the protocol requires. */
class FlowFailure extends Error {
  constructor(
    readonly kind: 'status' | 'protocol',
    message: string,
  ) {
    super(message)
  }
}

/** One HTTP request to 127.0.0.1:`port` over `agent`; the whole answer (the body as text). */
export function send(agent: Agent, port: number, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}

export async function runFlows(job: FlowJob): Promise<LoadResult> {
  const target = new URL(job.url)
  if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1' || target.port === '') {
    throw new TypeError(`flow target must be http://127.0.0.1:PORT, got ${job.url}`)
  }
  if (job.cookies.length === 0) throw new TypeError('flow job without login sessions')
  const port = Number(target.port)
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections })
  const tokenHeaders = { authorization: job.authorization, 'content-type': 'application/x-www-form-urlencoded' }
  const callbackPrefix = `${job.redirectUri}?`
  let started = 0
  let requests = 0
  let ok = 0
  let non2xx = 0
  let errors = 0
  let firstFailure: string | undefined
  const latencies: number[] = []

  async function flow(cookie: string, state: string): Promise<void> {
    requests++
    const authorize = await send(agent, port, 'GET', `${job.authorizePath}&state=${state}`, { cookie })
    if (authorize.status !== 302 && authorize.status !== 303) {
      throw new FlowFailure('status', `authorize answered ${authorize.status}`)
    }
    const location = authorize.headers.location ?? ''
    if (!location.startsWith(callbackPrefix)) throw new FlowFailure('protocol', `authorize redirected to ${location.slice(0, 120)}, not the redirect URI`)
    const params = new URLSearchParams(location.slice(callbackPrefix.length))
    const code = params.get('code')
    if (code === null) throw new FlowFailure('protocol', `authorize redirected without a code: ${location.slice(0, 200)}`)
    if (params.get('state') !== state) throw new FlowFailure('protocol', `state came back as ${String(params.get('state'))}, sent ${state}`)
    if (params.get('iss') !== job.issuer) throw new FlowFailure('protocol', `iss came back as ${String(params.get('iss'))}, expected ${job.issuer}`)

    const body = `grant_type=authorization_code&code=${encodeURIComponent(code)}&redirect_uri=${encodeURIComponent(job.redirectUri)}&code_verifier=${job.codeVerifier}`
    requests++
    const token = await send(agent, port, 'POST', job.tokenPath, { ...tokenHeaders, 'content-length': String(Buffer.byteLength(body)) }, body)
    if (token.status !== 200) throw new FlowFailure('status', `token answered ${token.status}: ${token.body.slice(0, 200)}`)
    const tokens = JSON.parse(token.body) as { access_token?: unknown; id_token?: unknown }
    if (typeof tokens.access_token !== 'string' || typeof tokens.id_token !== 'string') {
      throw new FlowFailure('protocol', 'token response without access_token or id_token')
    }
  }

  const t0 = performance.now()
  const deadline = t0 + job.duration * 1000

  async function loop(index: number): Promise<void> {
    while (performance.now() < deadline) {
      const n = started++
      const cookie = job.cookies[n % job.cookies.length] as string
      const begin = performance.now()
      try {
        await flow(cookie, `s${index}-${n}`)
        ok++
        latencies.push(performance.now() - begin)
      } catch (error) {
        if (error instanceof FlowFailure && error.kind === 'status') non2xx++
        else errors++
        firstFailure ??= error instanceof Error ? error.message : String(error)
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: job.connections }, (_, i) => loop(i)))
  } finally {
    agent.destroy()
  }
  const seconds = (performance.now() - t0) / 1000
  latencies.sort((a, b) => a - b)
  const mean = latencies.length === 0 ? 0 : latencies.reduce((a, b) => a + b, 0) / latencies.length
  return {
    requests,
    ok,
    non2xx,
    errors,
    seconds,
    rps: ok / seconds,
    // Whole milliseconds, as autocannon reports them.
    p50: Math.round(percentile(latencies, 0.5)),
    p99: Math.round(percentile(latencies, 0.99)),
    mean: Math.round(mean * 100) / 100,
    max: Math.round(latencies[latencies.length - 1] ?? 0),
    usedInputs: started,
    exhausted: false,
    ...(firstFailure === undefined ? {} : { firstFailure }),
  }
}
