/**
 * Tracing with OpenTelemetry, on only when the standard `OTEL_*` environment asks for it: the SDK
 * and the OTLP exporter are loaded here, by dynamic import, and nowhere else. Without the ask
 * nothing is loaded, no tracer exists and the app adds no hook and no wrapper (`instrument.ts`).
 *
 * The environment is a parameter (`cli/serve.ts` hands over the one `cli/main.ts` got): this module
 * never reads the process's own.
 *
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api'
import { ConfigError } from '../config/errors.js'

/** The variables this module reads; any environment object (`NodeJS.ProcessEnv` too) fits. */
export type TracingEnv = Readonly<Record<string, string | undefined>>

/** Started tracing: the tracer the app is built with, and how to flush and stop it. */
export interface Tracing {
  tracer: Tracer
  /** Where spans go (the OTLP traces URL without user info or query, or `console`): what the log may show. */
  destination: string
  /** Settings taken but not followed to the letter, one line each, for the start-up log. */
  warnings: string[]
  /** Exports what is buffered and stops; spans started after it are dropped. */
  shutdown(): Promise<void>
}

/** The instrumentation scope of every span (`otel.scope.name`). */
export const TRACER_NAME = '@authcode/server'

/** `service.name` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` names it. */
export const DEFAULT_SERVICE_NAME = 'authcode'

/** Where an OTLP/HTTP receiver listens when no endpoint is given (the OTLP default). */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318'

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
type SamplerName = (typeof SAMPLERS)[number]

/** What the environment asks for, checked; nothing loaded yet. */
export interface TracingSettings {
  exporter: 'otlp' | 'console'
  /** The OTLP traces URL (for `otlp`). */
  url: string
  /** Headers of every export request (an API key, typically): a secret, never logged. */
  headers: Record<string, string>
  resource: Record<string, string>
  sampler: SamplerName
  /** The ratio of `traceidratio` samplers, 0 to 1. */
  ratio: number
  warnings: string[]
}

const value = (env: TracingEnv, name: string): string | undefined => {
  const raw = env[name]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

/** `key1=value1,key2=value2`, values percent-decoded (the W3C Baggage octets the spec uses). */
function keyValueList(env: TracingEnv, name: string): Record<string, string> {
  const list: Record<string, string> = {}
  const raw = value(env, name)
  if (raw === undefined) return list
  for (const entry of raw.split(',')) {
    if (entry.trim() === '') continue
    const equals = entry.indexOf('=')
    const key = equals < 0 ? '' : entry.slice(0, equals).trim()
    if (key === '') throw new ConfigError(`${name}: expected key=value pairs separated by commas`)
    try {
      list[key] = decodeURIComponent(entry.slice(equals + 1).trim())
    } catch {
      throw new ConfigError(`${name}: the value of ${key} is not valid percent-encoding`)
    }
  }
  return list
}

function httpUrl(name: string, raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name}: not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name}: an http or https URL is required`)
  return url.href
}

/**
 * Reads the tracing settings from `env`, or undefined when tracing is off: `OTEL_SDK_DISABLED=true`,
 * `OTEL_TRACES_EXPORTER=none`, or neither an exporter nor an OTLP endpoint asked for. Unlike an
 * SDK left to its defaults, an unset environment means off: the server exports nowhere unasked.
 *
 * @throws ConfigError naming the variable, for a value that cannot be followed.
 * @example
 * ```ts
 * tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.url // 'http://collector:4318/v1/traces'
 * ```
 */
export function tracingSettings(env: TracingEnv): TracingSettings | undefined {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined
  const warnings: string[] = []
  const tracesEndpoint = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const endpoint = value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')
  const exporters = (value(env, 'OTEL_TRACES_EXPORTER') ?? '').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
  if (exporters.includes('none')) return undefined
  if (exporters.length === 0 && tracesEndpoint === undefined && endpoint === undefined) return undefined
  const unknown = exporters.filter((name) => name !== 'otlp' && name !== 'console')
  if (unknown.length > 0) throw new ConfigError(`OTEL_TRACES_EXPORTER: ${unknown.join(', ')} is not supported (otlp, console or none)`)
  if (exporters.length > 1) throw new ConfigError('OTEL_TRACES_EXPORTER: one exporter (otlp, console or none)')
  const exporter = exporters[0] === 'console' ? 'console' : 'otlp'

  const protocolName = value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') === undefined ? 'OTEL_EXPORTER_OTLP_PROTOCOL' : 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
  const protocol = value(env, protocolName)
  if (exporter === 'otlp' && protocol !== undefined && protocol !== 'http/json') {
    if (protocol !== 'http/protobuf') throw new ConfigError(`${protocolName}: ${protocol} is not supported; authcode exports OTLP over HTTP (http/json)`)
    warnings.push(`${protocolName}=http/protobuf: spans are sent as http/json, which OTLP/HTTP receivers take at the same URL`)
  }

  // A signal-specific endpoint is the URL as is; the general one gets the signal's path appended.
  const url =
    tracesEndpoint !== undefined
      ? httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint)
      : `${httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint ?? DEFAULT_OTLP_ENDPOINT).replace(/\/+$/, '')}/v1/traces`
  const headers = {
    ...keyValueList(env, 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...keyValueList(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
  }

  const resource = keyValueList(env, 'OTEL_RESOURCE_ATTRIBUTES')
  resource['service.name'] = value(env, 'OTEL_SERVICE_NAME') ?? resource['service.name'] ?? DEFAULT_SERVICE_NAME

  const samplerRaw = value(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on'
  if (!(SAMPLERS as readonly string[]).includes(samplerRaw)) throw new ConfigError(`OTEL_TRACES_SAMPLER: ${samplerRaw} is not supported (${SAMPLERS.join(', ')})`)
  const sampler = samplerRaw as SamplerName
  let ratio = 1
  const arg = value(env, 'OTEL_TRACES_SAMPLER_ARG')
  if (arg !== undefined && sampler.endsWith('traceidratio')) {
    ratio = Number(arg)
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new ConfigError('OTEL_TRACES_SAMPLER_ARG: a number from 0 to 1')
  }
  return { exporter, url, headers, resource, sampler, ratio, warnings }
}

/** The URL without user info or query, which may hold credentials: what a log line may show. */
function shownUrl(href: string): string {
  const url = new URL(href)
  url.username = ''
  url.password = ''
  url.search = ''
  return url.href
}

/**
 * Starts tracing when `env` asks for it (see {@link tracingSettings}): loads the SDK, exports with
 * a batching processor over OTLP/HTTP (or to the console), and registers the W3C trace-context
 * propagator and the async-hooks context manager, so that the request span is the parent of the
 * store's and the signer's spans. Returns undefined, having loaded nothing, when tracing is off.
 *
 * @throws ConfigError naming the variable, for a value that cannot be followed.
 * @example
 * ```ts
 * const tracing = await startTracing(env)
 * const app = await buildApp(config, { store, keys, tracer: tracing?.tracer })
 * // … on shutdown
 * await tracing?.shutdown()
 * ```
 */
export async function startTracing(env: TracingEnv): Promise<Tracing | undefined> {
  const settings = tracingSettings(env)
  if (settings === undefined) return undefined
  const [sdk, { resourceFromAttributes }] = await Promise.all([import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/resources')])
  const exporter =
    settings.exporter === 'console'
      ? new sdk.ConsoleSpanExporter()
      : new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: settings.url, headers: settings.headers })
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.ratio)
  const root = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new sdk.AlwaysOnSampler(),
    parentbased_always_off: new sdk.AlwaysOffSampler(),
    parentbased_traceidratio: ratio,
  }[settings.sampler]
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes(settings.resource),
    sampler: settings.sampler.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root,
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  })
  provider.register()
  return {
    tracer: provider.getTracer(TRACER_NAME),
    destination: settings.exporter === 'console' ? 'console' : shownUrl(settings.url),
    warnings: settings.warnings,
    async shutdown() {
      try {
        await provider.shutdown()
      } finally {
        trace.disable()
        context.disable()
        propagation.disable()
      }
    },
  }
}
