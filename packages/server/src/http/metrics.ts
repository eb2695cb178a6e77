/**
 * Prometheus metrics (prom-client), one registry per app so that several apps in one process (the
 * tests) never share counters. Served by `listenMetrics` on a listener of their own, never on the
 * public port: `cli/serve.ts` starts it when `metricsPort` is set.
 *
 * No label carries a secret, a user name or an unbounded value: routes are the registered patterns
 * (`/interaction/:id`, never the URL), grant types are the supported ones or `other`, results are
 * `success` or an OAuth error code, store operations are the store's method names.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { SecurityEvent } from '../protocol/events.js'
import { TokenMinter, type MintedAccessToken } from '../protocol/issue-tokens.js'
import type { Store } from '../protocol/store.js'

/** Seconds: from a cached lookup (sub-millisecond) to a slow request. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

export class Metrics {
  readonly registry = new Registry()

  readonly httpDuration = new Histogram({
    name: 'authcode_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })

  readonly tokenRequests = new Counter({
    name: 'authcode_token_requests_total',
    help: 'Token endpoint requests, by grant type and result (success or the OAuth error code)',
    labelNames: ['grant_type', 'result'] as const,
    registers: [this.registry],
  })

  readonly loginAttempts = new Counter({
    name: 'authcode_login_attempts_total',
    help: 'Password sign-ins, by result: success, failure, throttled',
    labelNames: ['result'] as const,
    registers: [this.registry],
  })

  readonly codeReplays = new Counter({
    name: 'authcode_code_replays_total',
    help: 'Authorization codes presented again after their use (their grant revoked)',
    registers: [this.registry],
  })

  readonly refreshReuse = new Counter({
    name: 'authcode_refresh_reuse_total',
    help: 'Refresh tokens presented again after rotation (their family revoked)',
    registers: [this.registry],
  })

  readonly clientAuthFailures = new Counter({
    name: 'authcode_client_auth_failures_total',
    help: 'Failed client authentications at the token, revocation and introspection endpoints',
    registers: [this.registry],
  })

  readonly storeDuration = new Histogram({
    name: 'authcode_db_operation_duration_seconds',
    help: 'Time of a store (database) operation, by operation',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })

  readonly signingDuration = new Histogram({
    name: 'authcode_signing_duration_seconds',
    help: 'Time to sign a token, queue of the signing thread included, by token',
    labelNames: ['token'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  })

  #defaults = false

  /**
   * Adds prom-client's process and event-loop metrics (CPU, memory, handles, event-loop lag) to
   * this registry, once. Done when the metrics are served (`listenMetrics`), not for every app: the
   * event-loop monitor samples every 10 ms for as long as the process lives.
   */
  collectDefaults(): void {
    if (this.#defaults) return
    this.#defaults = true
    collectDefaultMetrics({ register: this.registry })
  }

  /** Counts what the counters of security events count. */
  count(event: SecurityEvent): void {
    switch (event.type) {
      case 'login.succeeded':
        return this.loginAttempts.inc({ result: 'success' })
      case 'login.failed':
        return this.loginAttempts.inc({ result: 'failure' })
      case 'login.throttled':
        return this.loginAttempts.inc({ result: 'throttled' })
      case 'code.replayed':
        return this.codeReplays.inc()
      case 'refresh.reused':
        return this.refreshReuse.inc()
      case 'client.auth_failed':
        return this.clientAuthFailures.inc()
      default:
        return undefined
    }
  }
}

/**
 * The store with each operation timed in `authcode_db_operation_duration_seconds` (label: the
 * method's name, a fixed set). Methods run on the store itself; only promises are timed.
 */
export function timedStore(store: Store, histogram: Metrics['storeDuration']): Store {
  // One timed wrapper per method, made at its first use: the token endpoint's store calls must not
  // pay a new closure at every property read.
  const timed = new Map<string, (...args: unknown[]) => unknown>()
  return new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver)
      if (typeof value !== 'function' || typeof key !== 'string') return value
      let wrapper = timed.get(key)
      if (wrapper === undefined) {
        const method = value as (...a: unknown[]) => unknown
        const labels = { operation: key }
        wrapper = (...args: unknown[]) => {
          const started = performance.now()
          const result: unknown = method.apply(target, args)
          if (result instanceof Promise) {
            const done = () => histogram.observe(labels, (performance.now() - started) / 1000)
            result.then(done, done)
          }
          return result
        }
        timed.set(key, wrapper)
      }
      return wrapper
    },
  })
}

/** The minter with each signature timed in `authcode_signing_duration_seconds`. */
export class TimedMinter extends TokenMinter {
  readonly #histogram: Metrics['signingDuration']

  constructor(keys: ConstructorParameters<typeof TokenMinter>[0], config: ConstructorParameters<typeof TokenMinter>[1], histogram: Metrics['signingDuration']) {
    super(keys, config)
    this.#histogram = histogram
  }

  override async accessToken(...args: Parameters<TokenMinter['accessToken']>): Promise<MintedAccessToken> {
    const end = this.#histogram.startTimer({ token: 'access_token' })
    try {
      return await super.accessToken(...args)
    } finally {
      end()
    }
  }

  override async idToken(...args: Parameters<TokenMinter['idToken']>): Promise<string> {
    const end = this.#histogram.startTimer({ token: 'id_token' })
    try {
      return await super.idToken(...args)
    } finally {
      end()
    }
  }
}

/** A listening metrics endpoint. */
export interface MetricsListener {
  /** `http://host:port/metrics`. */
  url: string
  close(): Promise<void>
}

/**
 * Serves `GET /metrics` (Prometheus text format) from `metrics`, the process and event-loop
 * defaults added, on its own listener at `host` (loopback by default in the configuration: the
 * metrics are for the operator, not the world). Every other request is 404.
 */
export async function listenMetrics(metrics: Metrics, { port, host }: { port: number; host: string }): Promise<MetricsListener> {
  metrics.collectDefaults()
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?', 1)[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : text)
      },
      () => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed\n'),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error === undefined ? resolve() : reject(error)))
      }),
  }
}
