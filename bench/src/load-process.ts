/**
 * The load generator, in its own process (forked by load.ts): runs the jobs it receives over IPC
 * and answers with the figures. Request jobs go to autocannon: single-use inputs (codes, refresh
 * tokens) are handed out one per request by `setupRequest`; when they run out the run stops early
 * and says so. Flow jobs (authorize, then exchange) go to flow-driver.ts.
 */
import autocannon from 'autocannon'
import { runFlows } from './flow-driver.js'
import type { LoadJob, LoadResult, RequestJob } from './load.js'

function bodyFor(job: RequestJob, value: string): string {
  return job.bodyTemplate.replace('{{value}}', encodeURIComponent(value))
}

async function run(job: RequestJob): Promise<LoadResult> {
  const inputs = job.inputs ?? []
  let next = 0
  let exhausted = false
  let instance: ReturnType<typeof autocannon> | undefined
  const headers: Record<string, string> = { ...job.headers }
  if (job.method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded'

  const request: autocannon.Request = { method: job.method, path: job.path, headers }
  if (job.method === 'POST' && job.inputs === undefined) request.body = job.bodyTemplate
  if (job.inputs !== undefined) {
    request.setupRequest = (req) => {
      let value = inputs[next++]
      if (value === undefined) {
        // Out of pre-minted values: stop (the figures cover the time actually run) and send a
        // harmless unknown value meanwhile.
        if (!exhausted) {
          exhausted = true
          setImmediate(() => instance?.stop())
        }
        value = 'exhausted-' + String(next)
      }
      return { ...req, body: bodyFor(job, value) }
    }
  }

  const started = process.hrtime.bigint()
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.duration,
        pipelining: 1,
        timeout: 10,
        requests: [request],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9
  const ok = result['2xx']
  const seconds = Math.min(elapsed, Math.max(result.duration, 0.001))
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds,
    rps: ok / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    max: result.latency.max,
    usedInputs: Math.min(next, inputs.length),
    exhausted,
  }
}

process.on('message', (message: { id: number; job: LoadJob }) => {
  const { job } = message
  const result = job.kind === 'flow' ? runFlows(job) : run(job)
  result.then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  )
})
process.send?.({ ready: true })
