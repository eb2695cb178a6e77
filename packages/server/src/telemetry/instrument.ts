/**
 * The spans of a request: one server span per HTTP request (`traceRequests`), and child spans for
 * each store operation (`tracedStore`) and each signature (`tracedMinter`). Each takes the tracer
 * of `startTracing` or undefined; undefined changes nothing: no hook is added, the store and the
 * minter are returned as they are, so a server without tracing pays nothing per request.
 *
 * No attribute carries a secret or a request's data: the route is the registered pattern
 * (`/interaction/:id`, never the URL), store spans name the method and not its arguments (hashes
 * of codes and tokens), failures record the error's class, never its message.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 * @see https://opentelemetry.io/docs/specs/semconv/database/database-spans/
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TokenMinter } from '../protocol/issue-tokens.js'
import type { Store } from '../protocol/store.js'

/** What `buildApp` takes besides its other dependencies: a tracer when tracing is on. */
export interface TracingDeps {
  /** From `startTracing`; absent (or undefined) when tracing is off. */
  tracer?: Tracer | undefined
}

/** Ends `span` as failed, naming the error's class only (a message may quote a value). */
function fail(span: Span, error: unknown): void {
  span.setAttribute('error.type', error instanceof Error ? error.name : typeof error)
  span.setStatus({ code: SpanStatusCode.ERROR })
}

/** Runs `operation` in a new active span, ending it when the operation settles. */
function inSpan<T>(tracer: Tracer, name: string, kind: SpanKind, attributes: Attributes, operation: () => T): T {
  return tracer.startActiveSpan(name, { kind, attributes }, (span) => {
    let result: T
    try {
      result = operation()
    } catch (error) {
      fail(span, error)
      span.end()
      throw error
    }
    if (!(result instanceof Promise)) {
      span.end()
      return result
    }
    return result.then(
      (settled: unknown) => {
        span.end()
        return settled
      },
      (error: unknown) => {
        fail(span, error)
        span.end()
        throw error
      },
    ) as T
  })
}

/** Store methods that are not database work on a request's path. */
const UNTRACED_STORE_METHODS = new Set<string | symbol>(['close', 'constructor'])

/**
 * The store with a client span per operation, `store <method>` with `db.operation.name` set to the
 * method's name; a child of the request's span. The store itself when `tracer` is undefined.
 *
 * @example
 * ```ts
 * const store = tracedStore(openedStore, tracing?.tracer)
 * ```
 */
export function tracedStore(store: Store, tracer: Tracer | undefined): Store {
  if (tracer === undefined) return store
  return new Proxy(store, {
    get(target, key, receiver) {
      const member: unknown = Reflect.get(target, key, receiver)
      if (typeof member !== 'function') return member
      // Called on the store itself, never on the proxy: a class's private members are on the store.
      const method = (member as (...args: unknown[]) => unknown).bind(target)
      if (typeof key !== 'string' || UNTRACED_STORE_METHODS.has(key)) return method
      return (...args: unknown[]) =>
        inSpan(tracer, `store ${key}`, SpanKind.CLIENT, { 'db.operation.name': key }, () => method(...args))
    },
  })
}

/** The minter's signing methods and the token each signs. */
const SIGNING_METHODS: Readonly<Record<string, string>> = { accessToken: 'access_token', idToken: 'id_token' }

/**
 * The minter with an internal span per signature, `sign access_token` or `sign id_token` (signing
 * thread queue included), `authcode.token` naming the token. The minter itself when `tracer` is
 * undefined; the token signed is never an attribute.
 */
export function tracedMinter<M extends TokenMinter>(minter: M, tracer: Tracer | undefined): M {
  if (tracer === undefined) return minter
  return new Proxy(minter, {
    get(target, key, receiver) {
      const member: unknown = Reflect.get(target, key, receiver)
      const token = typeof key === 'string' && Object.hasOwn(SIGNING_METHODS, key) ? SIGNING_METHODS[key] : undefined
      if (typeof member !== 'function') return member
      const method = (member as (...args: unknown[]) => unknown).bind(target)
      if (token === undefined) return method
      return (...args: unknown[]) =>
        inSpan(tracer, `sign ${token}`, SpanKind.INTERNAL, { 'authcode.token': token }, () => method(...args))
    },
  })
}

/**
 * A server span per request on `app`, from the first hook to the answer: `METHOD /route/pattern`,
 * the W3C `traceparent` of the caller as its parent, `http.request.method`, `http.route`,
 * `http.response.status_code` and the request id (`authcode.request_id`); a 5xx answer or an
 * aborted request is an error. Nothing is added when `tracer` is undefined.
 *
 * The span is made active in `onRequest` and again in `preHandler`: a body is read in the
 * socket's callbacks, outside the request's async context, so the handler's store and signing
 * spans find their parent only through the second.
 */
export function traceRequests(app: FastifyInstance, tracer: Tracer | undefined): void {
  if (tracer === undefined) return
  const active = new WeakMap<FastifyRequest, { span: Span; context: Context }>()
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url
    const parent = propagation.extract(ROOT_CONTEXT, request.headers)
    const attributes: Attributes = {
      'http.request.method': request.method,
      'url.scheme': request.protocol,
      'authcode.request_id': request.id,
    }
    if (route !== undefined) attributes['http.route'] = route
    const span = tracer.startSpan(route === undefined ? request.method : `${request.method} ${route}`, { kind: SpanKind.SERVER, attributes }, parent)
    const requestContext = trace.setSpan(parent, span)
    active.set(request, { span, context: requestContext })
    context.with(requestContext, done)
  })
  app.addHook('preHandler', (request, _reply, done) => {
    const entry = active.get(request)
    if (entry === undefined) done()
    else context.with(entry.context, done)
  })
  const end = (request: FastifyRequest, status: number | undefined): void => {
    const entry = active.get(request)
    if (entry === undefined) return
    active.delete(request)
    if (status === undefined) {
      entry.span.setAttribute('error.type', 'aborted')
      entry.span.setStatus({ code: SpanStatusCode.ERROR })
    } else {
      entry.span.setAttribute('http.response.status_code', status)
      if (status >= 500) {
        entry.span.setAttribute('error.type', String(status))
        entry.span.setStatus({ code: SpanStatusCode.ERROR })
      }
    }
    entry.span.end()
  }
  app.addHook('onResponse', async (request, reply) => end(request, reply.statusCode))
  app.addHook('onRequestAbort', async (request) => end(request, undefined))
}
