/**
 * `authcode serve`: the only place that listens. Opens the store (migrating it), makes sure signing
 * keys exist, optionally seeds the demo, purges expired rows periodically and shuts down cleanly
 * on SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the store).
 */
import type { AddressInfo } from 'node:net'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { DestinationStream } from 'pino'
import type { ServerConfig, TrustedProxies } from '../config/load.js'
import { buildAdminApp } from '../http/admin-app.js'
import { buildApp } from '../http/app.js'
import { Metrics, listenMetrics, type MetricsListener } from '../http/metrics.js'
import { startTracing, type TracingEnv } from '../telemetry/tracing.js'
import { ensureDemo } from './demo.js'
import { looseDataPaths, nowSeconds, openRuntime } from './runtime.js'

/** Who the server takes for the caller (SECURITY 28); a hop count is a warning, since it cannot tell a proxy from a client. */
function logTrustProxy(log: FastifyBaseLogger, proxies: TrustedProxies | undefined): void {
  if (proxies === undefined) {
    log.info({ trustProxy: false }, 'trustProxy: none; X-Forwarded-* is ignored and the caller is the connection\'s peer')
  } else if ('hops' in proxies) {
    log.warn(
      { trustProxy: { hops: proxies.hops } },
      `trustProxy: ${proxies.hops} ${proxies.hops === 1 ? 'proxy' : 'proxies'} in front; the caller is the X-Forwarded-For entry the outermost one wrote. ` +
        'A client reaching this server directly chooses its own address: let only the proxies reach it, or give their addresses instead',
    )
  } else {
    log.info(
      { trustProxy: { addresses: proxies.addresses } },
      `trustProxy: proxies at ${proxies.addresses.join(', ')}; the caller is the right-most X-Forwarded-For entry outside them`,
    )
  }
}

/**
 * Where the log goes: pretty lines for a person at a terminal, JSON lines (one object each, what
 * log shippers read) otherwise. `pino-pretty` is loaded only when it is used.
 */
export async function logDestination(
  format: ServerConfig['logFormat'],
  isTerminal: boolean,
  /** Where pretty lines are written; standard output when absent. */
  destination?: NodeJS.WritableStream,
): Promise<DestinationStream | undefined> {
  if (format === 'json' || (format === 'auto' && !isTerminal)) return undefined
  const { default: pretty } = await import('pino-pretty')
  return pretty({ colorize: isTerminal, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true, ...(destination === undefined ? {} : { destination }) })
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]'])

/** Whether the issuer is plain http on a host other than loopback: codes, tokens and cookies then cross the network in clear. */
export function insecureIssuer(issuer: string): boolean {
  const { protocol, hostname } = new URL(issuer)
  return protocol === 'http:' && !LOOPBACK_HOSTS.has(hostname) && !/^127(?:\.\d{1,3}){3}$/.test(hostname)
}

export async function serve(
  config: ServerConfig,
  options: { demo: boolean; out: (line: string) => void; /** The process's environment: `OTEL_*` turns tracing on. */ env?: TracingEnv },
): Promise<void> {
  // OpenTelemetry tracing when OTEL_* asks for it; nothing is loaded otherwise.
  const tracing = await startTracing(options.env ?? {})
  const { store, keys, migrated } = await openRuntime(config)
  const metrics = new Metrics()
  const logStream = await logDestination(config.logFormat, process.stdout.isTTY === true)
  const app = await buildApp(config, { store, keys, now: nowSeconds, metrics, tracer: tracing?.tracer, ...(logStream === undefined ? {} : { logStream }) })
  if (tracing !== undefined) app.log.info({ tracing: tracing.destination }, `traces exported to ${tracing.destination}`)
  for (const warning of tracing?.warnings ?? []) app.log.warn(warning)
  if (migrated.length > 0) app.log.info({ migrations: migrated }, 'database migrated')
  const created = await keys.ensureKeys(nowSeconds())
  if (created.length > 0) app.log.info({ algorithms: created }, 'signing keys generated')
  for (const { path, mode, directory } of looseDataPaths(config)) {
    app.log.warn({ path, mode }, `${path} is accessible by other users (mode ${mode}); restrict it with: chmod ${directory ? '700' : '600'} ${path}`)
  }
  if (config.dangerouslyAllowInsecureIssuer) app.log.warn('dangerouslyAllowInsecureIssuer is on: the issuer may be plain http')
  if (insecureIssuer(config.issuer)) {
    app.log.warn(
      { issuer: config.issuer },
      'the issuer is plain http on a host other than loopback: codes, tokens, passwords and cookies cross the network unencrypted, ' +
        'cookies are not Secure and no Strict-Transport-Security is sent. Serve it over https (TLS at a proxy in front)',
    )
  }
  logTrustProxy(app.log, config.trustProxy)
  if (config.registration.mode !== 'off') {
    const where = `${config.issuer}${config.endpoints.registration}`
    app.log.info(
      { registration: config.registration.mode, endpoint: where },
      config.registration.mode === 'open'
        ? `dynamic client registration is open: anyone may register a client at ${where} (shown to users as registered by itself; rateLimit.registrationPerIp per address)`
        : `dynamic client registration at ${where} with an initial access token (authcode registration-token create)`,
    )
  }
  if (config.asyncapi !== undefined) {
    const { document, scheme, openidAdded, warnings } = config.asyncapi
    app.log.info(
      { asyncapi: document, scheme, scopes: Object.keys(config.scopes), endpoints: config.endpoints },
      `scopes and endpoint paths from AsyncAPI scheme ${scheme}${openidAdded ? '; openid added beside the document\'s scopes: OpenID Connect sign-in (the ID token) needs it' : ''}`,
    )
    for (const warning of warnings) app.log.warn({ asyncapi: document, scheme }, `AsyncAPI document: ${warning}`)
  }

  const demo = options.demo ? await ensureDemo(store, config, nowSeconds()) : undefined

  // Once shutdown starts, each connection ends with its last in-flight answer: Fastify closes only
  // the keep-alive connections idle at that moment, and the others would hold close() open.
  let closing = false
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })

  await app.listen({ port: config.port, host: config.host })
  // Prometheus metrics on a listener of their own, never the public port; none unless asked for.
  let metricsListener: MetricsListener | undefined
  if (config.metricsPort !== undefined) {
    metricsListener = await listenMetrics(metrics, { port: config.metricsPort, host: config.metricsHost })
    app.log.info({ metrics: metricsListener.url }, `metrics on ${metricsListener.url}`)
  }
  // The admin API on a listener of its own, never the public port; none unless asked for. Its
  // audit events are logged and counted with the public app's.
  let adminApp: FastifyInstance | undefined
  if (config.adminPort !== undefined) {
    adminApp = await buildAdminApp(config, { store, keys, now: nowSeconds, metrics, ...(logStream === undefined ? {} : { logStream }) })
    adminApp.addHook('onSend', async (_request, reply, payload) => {
      if (closing) reply.header('connection', 'close')
      return payload
    })
    await adminApp.listen({ port: config.adminPort, host: config.adminHost })
    const { address, family, port: adminPort } = adminApp.server.address() as AddressInfo
    const adminUrl = `http://${family === 'IPv6' ? `[${address}]` : address}:${adminPort}/admin`
    app.log.info({ admin: adminUrl }, `admin API on ${adminUrl} (OpenAPI document at ${adminUrl}/openapi.json)`)
  }

  const purge = setInterval(() => {
    const now = nowSeconds()
    Promise.all([store.purgeExpired(now), keys.prune(now)])
      .then(([purged, keysPruned]) => app.log.info({ purged, keysPruned: keysPruned.length }, 'expired rows purged'))
      .catch((error: unknown) => app.log.error({ err: error }, 'purge failed'))
  }, config.purgeInterval * 1000)
  purge.unref()

  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    clearInterval(purge)
    Promise.all([app.close(), metricsListener?.close(), adminApp?.close()])
      .then(() => Promise.all([store.close(), tracing?.shutdown()]))
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)

  // Announced last: whoever waits for this line may stop the server at once, and is heard.
  const { port } = app.server.address() as AddressInfo
  options.out(`authcode authorization server on http://localhost:${port} (issuer ${config.issuer})`)
  if (demo !== undefined) {
    options.out(`demo login: ${demo.username} / ${demo.password ?? '(set before; see data/demo.json or add a user with authcode user add)'}`)
    options.out(`demo client: ${demo.client_id} with redirect URI ${demo.redirect_uri} (secret in ${config.dataDir}/demo.json)`)
  }
}
