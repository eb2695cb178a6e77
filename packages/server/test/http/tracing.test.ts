/**
 * Issue #19, traced: with the standard OTEL_* environment asking for traces, a real token request
 * through the app reaches an OTLP/HTTP receiver as a server span (route, status, the caller's
 * trace as parent) with child spans for the database and for signing, and no secret in any
 * attribute. Without that environment no SDK is loaded and the app adds no wrapper.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadConfig, type ServerConfig } from '../../src/config/load.js'
import { buildApp } from '../../src/http/app.js'
import type { Store } from '../../src/protocol/store.js'
import { openStore } from '../../src/storage/open.js'
import { tracedMinter, tracedStore } from '../../src/telemetry/instrument.js'
import { startTracing } from '../../src/telemetry/tracing.js'
import { basicAuth } from '../harness.js'
import { MemoryStore } from '../memory-store.js'
import { CLIENT_SECRET, ISSUER, NOW, REDIRECT_URI, VERIFIER, confidentialClient, issueCode, testKeys, testUser } from '../protocol-fixtures.js'

/** The one user of the tests, in every store they use. */
const USER = testUser()

/** How often the SDK was loaded: the factory runs on the first import, if any. */
const sdkLoads = vi.hoisted(() => ({ count: 0 }))
vi.mock('@opentelemetry/sdk-trace-node', async (importOriginal) => {
  sdkLoads.count += 1
  return importOriginal()
})

/** One span as OTLP/JSON carries it. */
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes?: { key: string; value: Record<string, unknown> }[]
  status?: { code?: number }
}

interface Received {
  path: string
  contentType: string | undefined
  headers: Record<string, string | string[] | undefined>
  body: { resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[] }
}

/** An OTLP/HTTP receiver on 127.0.0.1 that keeps every export it is sent. */
async function otlpReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'],
      })
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const attributesOf = (span: OtlpSpan): Record<string, unknown> =>
  Object.fromEntries((span.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]]))

describe('tracing (issue #19)', () => {
  let dir: string
  let config: ServerConfig

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authcode-tracing-'))
    config = loadConfig({ port: 4000, issuer: ISSUER, db: `sqlite:${join(dir, 'authcode.db')}` }, {}, dir)
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  /** A token request redeeming a fresh code in `store`, through the app; the secrets it carried and got. */
  async function tokenRequest(store: Store, tracer: Parameters<typeof buildApp>[1]['tracer'], headers: Record<string, string> = {}) {
    const log: string[] = []
    const app = await buildApp(config, { store, keys: await testKeys(), now: () => NOW, tracer, logStream: { write: (line: string) => void log.push(line) } })
    try {
      const code = await issueCode({ store: store as MemoryStore, client: confidentialClient(), user: USER })
      const authorization = basicAuth('rp', CLIENT_SECRET)
      const response = await app.inject({
        method: 'POST',
        url: config.endpoints.token,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization, ...headers },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }).toString(),
      })
      expect(response.statusCode, log.join('')).toBe(200)
      const tokens = response.json<Record<string, string>>()
      return { secrets: [code, CLIENT_SECRET, authorization, VERIFIER, tokens.access_token, tokens.id_token, tokens.refresh_token] }
    } finally {
      await app.close()
    }
  }

  it('off without OTEL_* (or with OTEL_SDK_DISABLED=true / OTEL_TRACES_EXPORTER=none): no SDK loaded, the store and minter unwrapped, requests served', async () => {
    expect(await startTracing({})).toBeUndefined()
    expect(await startTracing({ AUTHCODE_PORT: '4000', OTEL_SERVICE_NAME: 'authcode' })).toBeUndefined()
    expect(await startTracing({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined()
    expect(await startTracing({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBeUndefined()
    const store = new MemoryStore()
    expect(tracedStore(store, undefined)).toBe(store)
    const minter = { accessToken: () => undefined }
    expect(tracedMinter(minter as never, undefined)).toBe(minter)

    await store.createClient(confidentialClient())
    await store.createUser(USER)
    await tokenRequest(store, undefined)
    expect(sdkLoads.count).toBe(0)
  })

  it('on with OTEL_EXPORTER_OTLP_ENDPOINT: a token request exports a server span with route and status, child spans for the database and signing, no secret in any attribute', async () => {
    const receiver = await otlpReceiver()
    const { store } = await openStore(config.db)
    try {
      await store.createClient(confidentialClient())
      await store.createUser(USER)
      const tracing = await startTracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=collector%20key',
        OTEL_SERVICE_NAME: 'authcode-test',
      })
      expect(tracing).toBeDefined()
      expect(sdkLoads.count).toBe(1)
      expect(tracing?.destination).toBe(`${receiver.url}/v1/traces`)

      // The caller's trace (W3C traceparent) is the parent of the request's span.
      const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736'
      const callerSpan = '00f067aa0ba902b7'
      const { secrets } = await tokenRequest(store, tracing?.tracer, { traceparent: `00-${callerTrace}-${callerSpan}-01` })
      await tracing?.shutdown()

      expect(receiver.received.length).toBeGreaterThan(0)
      for (const { path, contentType, headers } of receiver.received) {
        expect(path).toBe('/v1/traces')
        expect(contentType).toMatch(/^application\/json/)
        expect(headers['x-api-key']).toBe('collector key')
      }
      const resourceSpans = receiver.received.flatMap(({ body }) => body.resourceSpans)
      expect(resourceSpans.flatMap(({ resource }) => resource.attributes ?? []).find(({ key }) => key === 'service.name')?.value).toEqual({
        stringValue: 'authcode-test',
      })
      const spans = resourceSpans.flatMap(({ scopeSpans }) => scopeSpans.flatMap(({ spans }) => spans))

      const server = spans.find((span) => span.name === `POST ${config.endpoints.token}`)
      expect(server).toBeDefined()
      if (server === undefined) return
      expect(server.kind).toBe(2) // SPAN_KIND_SERVER
      expect(server.traceId).toBe(callerTrace)
      expect(server.parentSpanId).toBe(callerSpan)
      expect(attributesOf(server)).toMatchObject({ 'http.request.method': 'POST', 'http.route': config.endpoints.token })
      expect(Number(attributesOf(server)['http.response.status_code'])).toBe(200)

      const children = spans.filter((span) => span.parentSpanId === server.spanId)
      const names = children.map((span) => span.name)
      // The code with its grant read, then redeemed with the tokens in one transaction; the client looked up.
      expect(names).toEqual(expect.arrayContaining(['store getClient', 'store getCodeWithGrant', 'store redeemCode', 'sign access_token', 'sign id_token']))
      for (const span of children.filter((child) => child.name.startsWith('store '))) {
        expect(span.kind).toBe(3) // SPAN_KIND_CLIENT
        expect(attributesOf(span)['db.operation.name']).toBe(span.name.slice('store '.length))
      }
      expect(attributesOf(children.find((span) => span.name === 'sign id_token') ?? server)['authcode.token']).toBe('id_token')
      expect(spans.every((span) => span.traceId === callerTrace)).toBe(true)

      const exported = JSON.stringify(receiver.received.map(({ body }) => body))
      for (const secret of secrets) {
        expect(secret?.length ?? 0).toBeGreaterThan(8)
        expect(exported).not.toContain(String(secret))
      }
    } finally {
      await store.close()
      await receiver.close()
    }
  })
})
