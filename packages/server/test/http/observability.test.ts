/**
 * Issue #19, observed: Prometheus metrics on their own listener after real requests, request ids
 * in the answer and in every log line, one audit log line (and one `onEvent` call) per security
 * event without any secret in the logs, and HSTS under an https issuer.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insecureIssuer } from '../../src/cli/serve.js'
import { HSTS } from '../../src/http/app.js'
import type { AuditEvent, AuditHook } from '../../src/http/audit.js'
import { Metrics, listenMetrics, type MetricsListener } from '../../src/http/metrics.js'
import { ADMIN_EVENT_TYPES, SECURITY_EVENT_TYPES, type AdminEventType, type SecurityEventType } from '../../src/protocol/events.js'
import {
  Browser,
  authorize,
  authorizeQuery,
  basicAuth,
  hiddenInput,
  obtainTokens,
  pkcePair,
  postForm,
  startServer,
  type TestServer,
} from '../harness.js'

type LogLine = Record<string, unknown>

/** A server like the harness's, whose log lines, events and metrics the test reads. */
interface ObservedServer extends TestServer {
  lines: LogLine[]
  /** Everything written to the log, as written. */
  raw: () => string
  events: AuditEvent[]
  metrics: Metrics
}

async function startObserved(file: Record<string, unknown> = {}, onEvent?: AuditHook): Promise<ObservedServer> {
  const chunks: string[] = []
  const lines: LogLine[] = []
  const logStream = {
    write(chunk: string) {
      chunks.push(chunk)
      for (const line of chunk.split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
    },
  }
  const events: AuditEvent[] = []
  const metrics = new Metrics()
  const server = await startServer({ logLevel: 'info', ...file }, { deps: { metrics, logStream, onEvent: onEvent ?? ((event) => void events.push(event)) } })
  return { ...server, lines, raw: () => chunks.join(''), events, metrics }
}

const auditLines = (server: ObservedServer): LogLine[] =>
  server.lines.filter((line) => (SECURITY_EVENT_TYPES as readonly unknown[]).includes(line.event))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('security events, metrics and request ids over HTTP', () => {
  let server: ObservedServer
  let scrape: MetricsListener
  /** Every credential the flows below handle: none may reach a log line. */
  const secrets: string[] = []
  let user: { id: string; username: string; password: string }
  let clientId: string

  beforeAll(async () => {
    server = await startObserved()
    scrape = await listenMetrics(server.metrics, { port: 0, host: '127.0.0.1' })
    const client = await server.addClient()
    clientId = client.clientId
    user = await server.addUser()
    secrets.push(user.username, user.password, client.secret ?? '')

    // login.failed: a wrong password on the login page.
    const wrong = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge }), {
      username: user.username,
      password: 'not-the-password-at-all',
    })
    expect(wrong.response.status).toBe(401)
    secrets.push('not-the-password-at-all')

    // login.succeeded, consent.granted, code.issued, code.redeemed (with the caller's request id).
    const first = await obtainTokens(server, client, user)
    secrets.push(first.code, first.verifier, String(first.tokens.access_token), String(first.tokens.refresh_token), String(first.tokens.id_token))

    // code.replayed: the same code again, by its client, with its verifier.
    const replay = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code: first.code, redirect_uri: client.redirectUri, code_verifier: first.verifier },
      { authorization: basicAuth(client.clientId, client.secret ?? ''), 'x-request-id': 'replay-1' },
    )
    expect(replay.status).toBe(400)

    // client.auth_failed: a wrong secret.
    const badSecret = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basicAuth(client.clientId, 'wrong-secret-value') })
    expect(badSecret.status).toBe(401)
    secrets.push('wrong-secret-value')

    // refresh.rotated, then refresh.reused with the rotated token; token.revoked.
    const second = await obtainTokens(server, client, user)
    const refreshToken = String(second.tokens.refresh_token)
    secrets.push(second.code, second.verifier, String(second.tokens.access_token), refreshToken, String(second.tokens.id_token))
    const auth = { authorization: basicAuth(client.clientId, client.secret ?? '') }
    const rotated = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, auth)
    expect(rotated.status).toBe(200)
    const rotatedTokens = (await rotated.json()) as Record<string, string>
    secrets.push(String(rotatedTokens.access_token), String(rotatedTokens.refresh_token))
    expect((await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, auth)).status).toBe(400)
    const third = await obtainTokens(server, client, user)
    secrets.push(third.code, third.verifier, String(third.tokens.access_token), String(third.tokens.refresh_token), String(third.tokens.id_token))
    const revoked = await postForm(`${server.url}/revoke`, { token: String(third.tokens.refresh_token), token_type_hint: 'refresh_token' }, auth)
    expect(revoked.status).toBe(200)
    // RFC 7009 §2.2: a token that is not one of ours is answered alike, and no event says it was revoked.
    expect((await postForm(`${server.url}/revoke`, { token: 'not-a-token-of-ours' }, auth)).status).toBe(200)

    // consent.denied: asked again (prompt=consent), the user says no.
    const denied = await authorize(server, third.browser, authorizeQuery(client, { code_challenge: pkcePair().challenge, prompt: 'consent' }), user, 'deny')
    expect(denied.callback?.searchParams.get('error')).toBe('access_denied')

    // access.removed, account.password_changed, then logout, on the account page.
    const account = await third.browser.get(`${server.url}/account`)
    const csrf = hiddenInput(await account.text(), 'csrf')
    const removed = await third.browser.post(`${server.url}/account/apps/${encodeURIComponent(client.clientId)}/remove/confirm`, { csrf })
    expect(removed.status).toBe(303)
    const newPassword = 'a-new-password-nobody-logs'
    const changed = await third.browser.post(`${server.url}/account/password`, { csrf, current_password: user.password, new_password: newPassword, repeat_password: newPassword })
    expect(changed.status).toBe(303)
    secrets.push(newPassword)
    expect((await third.browser.post(`${server.url}/account/logout`, { csrf })).status).toBe(303)
  })

  afterAll(async () => {
    await scrape?.close()
    await server?.close()
  })

  it('each security event is one JSON log line with its stable event name, the ids, the address and the request id', () => {
    const lines = auditLines(server)
    const count = (type: SecurityEventType) => lines.filter((line) => line.event === type).length
    // A sign-in says how it was made (RFC 8176): here, by password.
    expect(lines.filter((line) => line.event === 'login.succeeded').map((line) => line.amr)).toEqual([['pwd'], ['pwd'], ['pwd']])
    expect(Object.fromEntries(SECURITY_EVENT_TYPES.filter((type) => type !== 'login.throttled' && !type.startsWith('client.regist') && !type.startsWith('passkey.') && !ADMIN_EVENT_TYPES.includes(type as AdminEventType)).map((type) => [type, count(type)]))).toEqual({
      'login.succeeded': 3,
      'login.failed': 1,
      // The second and third sign-ins find the consent given: not asked again.
      'consent.granted': 1,
      'consent.denied': 1,
      'code.issued': 3,
      'code.redeemed': 3,
      'code.replayed': 1,
      'refresh.rotated': 1,
      'refresh.reused': 1,
      'token.revoked': 1,
      'client.auth_failed': 1,
      'access.removed': 1,
      'account.password_changed': 1,
      logout: 1,
    })
    for (const line of lines) {
      expect(line.ip).toBe('127.0.0.1')
      expect(typeof line.request_id).toBe('string')
      expect(line).toHaveProperty('client_id')
      expect(line).toHaveProperty('user_id')
    }
    const replayed = lines.find((line) => line.event === 'code.replayed')
    expect(replayed).toMatchObject({ level: 40, client_id: clientId, user_id: user.id, request_id: 'replay-1', msg: 'code.replayed' })
    expect(replayed?.grant_id).toEqual(expect.any(String))
    expect(lines.find((line) => line.event === 'client.auth_failed')).toMatchObject({ client_id: clientId, user_id: null, reason: 'bad_credentials' })
    expect(lines.find((line) => line.event === 'login.failed')).toMatchObject({ client_id: clientId, user_id: null })
    expect(lines.find((line) => line.event === 'token.revoked')).toMatchObject({ client_id: clientId, user_id: user.id, grant_id: expect.any(String), token_type: 'refresh_token' })
    expect(lines.find((line) => line.event === 'access.removed')).toMatchObject({ client_id: clientId, user_id: user.id })
    expect(lines.find((line) => line.event === 'account.password_changed')).toMatchObject({ client_id: null, user_id: user.id })
    expect(lines.find((line) => line.event === 'logout')).toMatchObject({ client_id: null, user_id: user.id })
  })

  it('no log line carries a code, a token, a secret, a password or a username', () => {
    const raw = server.raw()
    expect(raw.length).toBeGreaterThan(0)
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(5)
      expect(raw.includes(secret), `a log line holds ${secret.slice(0, 6)}…`).toBe(false)
    }
  })

  it('onEvent receives the same events as the log, one call each, with the request id', () => {
    const lines = auditLines(server)
    expect(server.events.map((event) => [event.event, event.request_id])).toEqual(lines.map((line) => [line.event, line.request_id]))
    const replayed = server.events.find((event) => event.event === 'code.replayed')
    expect(replayed).toMatchObject({ client_id: clientId, user_id: user.id, ip: '127.0.0.1', request_id: 'replay-1' })
    expect(Date.parse(replayed?.time ?? '')).not.toBeNaN()
    expect(Object.isFrozen(replayed)).toBe(true)
  })

  it('GET /metrics on the metrics listener shows the counters and histograms after those requests', async () => {
    const response = await fetch(scrape.url)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await response.text()
    const value = (series: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `))
      return line === undefined ? undefined : Number(line.slice(series.length + 1))
    }
    expect(value('authcode_token_requests_total{grant_type="authorization_code",result="success"}')).toBe(3)
    expect(value('authcode_token_requests_total{grant_type="authorization_code",result="invalid_grant"}')).toBe(1)
    expect(value('authcode_token_requests_total{grant_type="refresh_token",result="invalid_client"}')).toBe(1)
    expect(value('authcode_token_requests_total{grant_type="refresh_token",result="success"}')).toBe(1)
    expect(value('authcode_code_replays_total')).toBe(1)
    expect(value('authcode_refresh_reuse_total')).toBe(1)
    expect(value('authcode_client_auth_failures_total')).toBe(1)
    expect(value('authcode_login_attempts_total{result="success"}')).toBe(3)
    expect(value('authcode_login_attempts_total{result="failure"}')).toBe(1)
    expect(value('authcode_http_request_duration_seconds_count{method="POST",route="/token",status_code="200"}')).toBe(4)
    expect(value('authcode_http_request_duration_seconds_count{method="GET",route="/interaction/:id",status_code="200"}')).toBeGreaterThan(0)
    expect(value('authcode_db_operation_duration_seconds_count{operation="redeemCode"}')).toBe(3)
    expect(value('authcode_db_operation_duration_seconds_count{operation="rotateRefreshToken"}')).toBe(1)
    expect(value('authcode_signing_duration_seconds_count{token="access_token"}')).toBe(4)
    // The process and event-loop defaults.
    expect(text).toMatch(/^process_cpu_user_seconds_total /m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m)
    // Route patterns, never URLs; no user or secret in any label.
    expect(text).not.toMatch(/route="[^"]*\/interaction\/[0-9a-f]{8}-/)
    for (const secret of [...secrets, user.id]) expect(text.includes(secret)).toBe(false)
  })

  it('the public port has no /metrics, and the metrics listener serves nothing else', async () => {
    const publicMetrics = await fetch(`${server.url}/metrics`)
    expect(publicMetrics.status).toBe(404)
    expect(await publicMetrics.text()).not.toContain('authcode_')
    expect((await fetch(scrape.url.replace(/\/metrics$/, '/token'))).status).toBe(404)
  })

  it('a well-formed X-Request-Id is kept: in the answer and on every log line of the request', async () => {
    const id = `trace-${randomUUID()}`
    const response = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': id } })
    expect(response.headers.get('x-request-id')).toBe(id)
    const lines = server.lines.filter((line) => line.request_id === id)
    expect(lines.map((line) => line.msg)).toEqual(['incoming request', 'request completed'])
  })

  it('without one, or with a malformed or oversized one, a new id is made, never the one sent', async () => {
    for (const sent of [undefined, 'has spaces in it', 'x'.repeat(129), 'a<script>b', '']) {
      const headers: Record<string, string> = sent === undefined ? {} : { 'x-request-id': sent }
      const response = await fetch(`${server.url}/no-such-page`, { headers })
      expect(response.status).toBe(404)
      const id = response.headers.get('x-request-id') ?? ''
      expect(id).toMatch(UUID)
      expect(server.lines.filter((line) => line.request_id === id).length).toBeGreaterThanOrEqual(2)
      if (sent !== undefined && sent !== '') expect(server.raw().includes(sent)).toBe(false)
    }
  })

  it('error answers carry the request id too', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code' }, { 'x-request-id': 'err.1:2' })
    expect(response.status).toBe(401)
    expect(response.headers.get('x-request-id')).toBe('err.1:2')
  })
})

describe('login.throttled', () => {
  it('a sign-in refused by the account throttle is one login.throttled event and counted as throttled', async () => {
    const server = await startObserved({ rateLimit: { loginPerAccount: { max: 1, window: 900 } } })
    try {
      const client = await server.addClient()
      const user = await server.addUser()
      const wrong = { username: user.username, password: 'wrong-password-1' }
      expect((await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge }), wrong)).response.status).toBe(401)
      expect((await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge }), wrong)).response.status).toBe(429)
      expect(auditLines(server).map((line) => line.event)).toEqual(['login.failed', 'login.throttled'])
      expect(server.events.map((event) => event.event)).toEqual(['login.failed', 'login.throttled'])
      const text = await server.metrics.registry.metrics()
      expect(text).toContain('authcode_login_attempts_total{result="throttled"} 1')
      expect(server.raw().includes(user.username)).toBe(false)
    } finally {
      await server.close()
    }
  })
})

describe('the onEvent hook', () => {
  it('a hook that throws or rejects never breaks the request; its failure is logged', async () => {
    let calls = 0
    const server = await startObserved({}, (event) => {
      calls += 1
      if (event.event === 'client.auth_failed') throw new Error('hook down')
      return Promise.reject(new Error('hook rejected'))
    })
    try {
      const client = await server.addClient()
      const response = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basicAuth(client.clientId, 'nope-nope') })
      expect(response.status).toBe(401)
      const user = await server.addUser()
      const { tokens } = await obtainTokens(server, client, user)
      expect(tokens.token_type).toBe('Bearer')
      await new Promise((resolve) => setImmediate(resolve))
      expect(calls).toBeGreaterThan(1)
      expect(server.lines.filter((line) => line.msg === 'onEvent hook failed').length).toBe(calls)
    } finally {
      await server.close()
    }
  })
})

describe('HTTPS deployments', () => {
  let https: TestServer
  let http: TestServer
  beforeAll(async () => {
    https = await startServer({ issuer: 'https://auth.example.test' })
    http = await startServer()
  })
  afterAll(async () => {
    await https?.close()
    await http?.close()
  })

  it('RFC 6797: with an https issuer every answer says Strict-Transport-Security (pages, JSON, errors, 404)', async () => {
    for (const request of [
      { method: 'GET' as const, url: '/.well-known/openid-configuration' },
      { method: 'GET' as const, url: '/account' },
      { method: 'POST' as const, url: '/token' },
      { method: 'GET' as const, url: '/no-such-page' },
    ]) {
      const response = await https.app.inject(request)
      expect(response.headers['strict-transport-security'], request.url).toBe(HSTS)
    }
    expect(HSTS).toBe('max-age=31536000; includeSubDomains')
  })

  it('with an https issuer the cookies are Secure with the __Host- prefix', async () => {
    const client = await https.addClient()
    const response = await https.app.inject({ method: 'GET', url: `/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}` })
    const cookies = [response.headers['set-cookie'] ?? []].flat()
    expect(cookies.length).toBeGreaterThan(0)
    for (const line of cookies) expect(line).toMatch(/^__Host-authcode_\w+=.*; Secure/i)
  })

  it('a plain-http issuer other than loopback is what serve warns about at start', () => {
    for (const issuer of ['http://auth.example.test', 'http://10.0.0.5:4000', 'http://[fd00::1]']) expect(insecureIssuer(issuer), issuer).toBe(true)
    for (const issuer of ['https://auth.example.test', 'http://localhost:4000', 'http://127.0.0.1:4000', 'http://[::1]:4000']) {
      expect(insecureIssuer(issuer), issuer).toBe(false)
    }
  })

  it('with a plain-http (loopback) issuer there is no HSTS', async () => {
    const response = await http.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['strict-transport-security']).toBeUndefined()
    expect(response.headers['x-request-id']).toMatch(UUID)
  })
})
