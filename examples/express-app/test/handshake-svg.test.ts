/**
 * The handshake diagram (src/handshake-svg.ts) from the events of a real `OAuthClient` run against
 * the client package's in-memory authorization server: the steps in order with their times, no
 * secret anywhere (fingerprints only), the failing arrow marked with the error, nothing drawn after
 * a stop, and server-supplied text escaped.
 */
import { fingerprint, type FlowEvent } from '@authcode/client'
import { beforeEach, describe, expect, it } from 'vitest'
import { CLIENT_SECRET, FakeAuthorizationServer, ISSUER } from '../../../packages/client/test/fake-as.js'
import { clientFor } from '../../../packages/client/test/helpers.js'
import { describeHandshake, renderHandshakeSvg, stepText, type RecordedEvent } from '../src/handshake-svg.js'

let fake: FakeAuthorizationServer
let recorded: RecordedEvent[]
let route: string

beforeEach(() => {
  fake = new FakeAuthorizationServer()
  recorded = []
  route = 'GET /login'
})

const client = () => clientFor(fake, { onEvent: (event: FlowEvent) => recorded.push({ event, route }) })


/** The `<text>` contents of the SVG, in document order. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map((m) => (m[1] ?? '').replace(/<[^>]+>/g, ''))
}

describe('the handshake diagram', () => {
  it('RFC 6749 §4.1: every step of a login, an API call, a refresh and a logout, in order, with times', async () => {
    fake.idTokenTamper = { claims: { auth_time: fake.now } }
    const c = client()
    const { url, loginId } = await c.buildAuthorizationUrl()
    const callback = fake.authorize(url)
    route = 'GET /callback'
    const { sessionId, tokens } = await c.handleCallback({ loginId, url: callback })
    route = 'POST /api'
    await c.userinfo(sessionId)
    route = 'POST /refresh'
    await c.refresh(sessionId)
    route = 'POST /logout'
    await c.logout(sessionId)

    const view = describeHandshake(recorded)
    expect(view.outcome).toBe('ended')
    expect(view.steps.map((s) => `${s.from}>${s.to}:${s.label}`)).toEqual([
      'browser>client:GET /login',
      'client>browser:302 to the authorization endpoint',
      'browser>server:GET /authorize?response_type=code&…',
      'server>user:Login (observed at callback)',
      'user>server:Consent (observed at callback)',
      'server>browser:302 to the redirect URI',
      'browser>client:GET /callback?code&state&iss',
      'client>server:POST /token',
      'server>client:200 tokens',
      'client>browser:303 + session cookie',
      'client>server:GET /userinfo',
      'server>client:200 OK',
      'client>server:POST /token (refresh)',
      'server>client:200 tokens',
      'client>server:POST /revoke',
      'server>client:200 revoked',
      'client>browser:303 + session cookie cleared',
    ])
    expect(view.steps.filter((s) => s.channel === 'back')).toHaveLength(8)
    expect(view.steps.filter((s) => s.kind === 'observed').map((s) => s.label)).toEqual([
      'GET /authorize?response_type=code&…', 'Login (observed at callback)', 'Consent (observed at callback)', '302 to the redirect URI',
    ])
    const [login, consent] = view.steps.slice(3, 5)
    expect(login?.details.join(' ')).toMatch(/^(<1|\d+) ms between the redirect and the callback password entered during this handshake/)
    expect(consent?.details).toEqual(['approved: every scope asked for: openid profile'])
    const state = url.searchParams.get('state') ?? ''
    expect(view.steps[6]?.details).toEqual([`login cookie → attempt ${fingerprint(loginId)}…: found, unused`, `state ${fingerprint(state)}… matched the attempt's ✓`, `iss ${ISSUER} checked (RFC 9207) ✓`])
    expect(view.steps[1]?.details).toContain(`code_challenge=${fingerprint(url.searchParams.get('code_challenge') ?? '')}… (PKCE S256)`)
    expect(view.steps[8]?.details).toContain(`access_token ${fingerprint(tokens.accessToken)}… · bearer · expires_in 300 s`)
    expect(view.steps[8]?.details).toContain('scope: openid profile')
    expect(view.steps[13]?.details[1]).toMatch(/^refresh_token rotated: [0-9a-f]{6}… → [0-9a-f]{6}…$/)
    // Times: the first step at +0.000 s, each later one at or after the one before (when seen).
    const times = view.steps.map((s) => s.at).filter((t): t is number => t !== undefined)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(stepText(view.steps[0] as (typeof view.steps)[number], view.startedAt)).toMatch(/^\+0\.000 s Browser → Client Backend \(front channel\): GET \/login\./)
    expect(stepText(view.steps[7] as (typeof view.steps)[number], view.startedAt)).toContain('(back channel)')

    const svg = renderHandshakeSvg(view)
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="hs-title hs-desc"/)
    expect(svg).toContain('<title id="hs-title">')
    expect(svg).toContain('<desc id="hs-desc">Sequence diagram with four lifelines (User, Browser, Client Backend, Auth Server), 17 steps.')
    const shown = texts(svg)
    for (const lane of ['User', 'Browser', 'Client Backend', 'Auth Server']) expect(shown).toContain(lane)
    // The arrows' labels in the SVG in the same order as the steps.
    const labels = view.steps.map((s) => s.label.replace(/&/g, '&amp;'))
    let from = 0
    for (const label of labels) {
      const at = svg.indexOf(`>${label}</text>`, from)
      expect(at, label).toBeGreaterThan(from)
      from = at
    }
    expect(svg).toContain('+0.000 s')
    expect(svg).not.toContain('hs-failed)') // no failed arrow
  })

  it('OpenID logout: the logout goes on to the end-session endpoint (front channel), and the logout token comes back (back channel), fingerprinted', async () => {
    fake.metadata = { end_session_endpoint: `${ISSUER}/logout` }
    fake.idTokenTamper = { claims: { sid: 'sid-1' } }
    const c = client()
    const { url, loginId } = await c.buildAuthorizationUrl()
    const callback = fake.authorize(url)
    route = 'GET /callback'
    const { sessionId } = await c.handleCallback({ loginId, url: callback })
    route = 'POST /logout'
    await c.logout(sessionId)
    // The Auth Server's logout token, as the app's route received it.
    const token = 'header.payload.signature'
    recorded.push({
      event: { type: 'backchannel_logout', at: Date.now(), durationMs: 2, outcome: 'ended', token: fingerprint(token), sid: fingerprint('sid-1'), sessions: 0, error: undefined },
      route: 'POST /backchannel-logout',
    })

    const view = describeHandshake(recorded)
    expect(view.outcome).toBe('ended')
    expect(view.steps.slice(-6).map((s) => `${s.from}>${s.to}:${s.channel}:${s.label}`)).toEqual([
      'client>server:back:POST /revoke',
      'server>client:back:200 revoked',
      'client>browser:front:303 to the end-session endpoint + session cookie cleared',
      'browser>server:front:GET /logout?client_id&…',
      'server>client:back:POST /backchannel-logout',
      'client>server:back:200',
    ])
    const [, , redirect, , delivered] = view.steps.slice(-6)
    expect(redirect?.details).toContain('client_id=client-1')
    expect(delivered?.details[0]).toBe(`logout_token=${fingerprint(token)}… (typ logout+jwt) · sid=${fingerprint('sid-1')}…`)
    const svg = renderHandshakeSvg(view)
    expect(svg).not.toContain(token)
    expect(svg).not.toContain('sid-1')
  })

  it('never shows a secret: codes, tokens, state, verifier, nonce, client secret, login and session ids', async () => {
    const c = client()
    const { url, loginId } = await c.buildAuthorizationUrl()
    const { sessionId } = await c.handleCallback({ loginId, url: fake.authorize(url) })
    await c.refresh(sessionId)
    await c.logout(sessionId)
    const view = describeHandshake(recorded)
    const page = renderHandshakeSvg(view) + view.steps.map((s) => stepText(s, view.startedAt)).join('\n')
    const all = [...fake.secretsSeen(), loginId, sessionId, url.searchParams.get('state') ?? '', url.searchParams.get('nonce') ?? '']
    expect(all.length).toBeGreaterThanOrEqual(10)
    for (const secret of all) {
      expect(page).not.toContain(secret)
      expect(page).not.toContain(encodeURIComponent(secret))
    }
    for (const secret of [CLIENT_SECRET, url.searchParams.get('state') ?? '']) expect(page).toContain(`${fingerprint(secret)}…`)
  })

  it('RFC 6749 §10.12: a wrong state is drawn as the refused callback, and nothing after it', async () => {
    const c = client()
    const { url, loginId } = await c.buildAuthorizationUrl()
    const callback = fake.authorize(url)
    callback.searchParams.set('state', 'forged')
    await c.handleCallback({ loginId, url: callback }).catch(() => undefined)
    const view = describeHandshake(recorded)
    expect(view.outcome).toBe('failed')
    const last = view.steps.at(-1)
    expect(last?.label).toBe('GET /callback?code&state&iss')
    expect(last?.failure).toBe(
      `state mismatch: the callback's state ${fingerprint('forged')}… is not this attempt's ${fingerprint(url.searchParams.get('state') ?? '')}…; refused before any token request (STATE_MISMATCH)`,
    )
    expect(view.steps.filter((s) => s.failure !== undefined)).toHaveLength(1)
    expect(view.summary).toMatch(/^The handshake stopped at the callback: state mismatch/)
    const svg = renderHandshakeSvg(view)
    expect(svg).toContain('marker-end="url(#hs-failed)"')
    expect(texts(svg)).toContain('✕ GET /callback?code&amp;state&amp;iss')
    expect(svg).not.toContain('POST /token')
  })

  it('RFC 6749 §4.1.2.1: a denied consent marks the consent arrow with the error, escaped', async () => {
    const c = client()
    const { url, loginId } = await c.buildAuthorizationUrl()
    const denied = new URL('https://rp.test/cb')
    denied.search = new URLSearchParams({ error: 'access_denied', error_description: 'The user said <script>alert("no")</script> & left', state: url.searchParams.get('state') ?? '', iss: ISSUER }).toString()
    await c.handleCallback({ loginId, url: denied }).catch(() => undefined)
    const view = describeHandshake(recorded)
    expect(view.outcome).toBe('failed')
    const consent = view.steps.find((s) => s.label.startsWith('Consent'))
    expect(consent?.failure).toBe('consent denied: access_denied: The user said <script>alert("no")</script> & left')
    expect(view.steps.at(-1)?.label).toBe('GET /callback?error&state&iss')
    expect(view.steps.at(-1)?.details).toContain(`state ${fingerprint(url.searchParams.get('state') ?? '')}… matched the attempt's ✓`)
    expect(view.steps.at(-1)?.failure).toBeUndefined()
    expect(view.steps.find((s) => s.label.startsWith('Login'))?.details[1]).toBe('not observable: no ID token came back')
    const svg = renderHandshakeSvg(view)
    expect(svg).not.toContain('<script')
    expect(svg).toContain('&lt;script&gt;alert(&quot;no&quot;)&lt;/script&gt; &amp; left')
    expect(svg).toContain('marker-end="url(#hs-failed)"')
  })

  it('RFC 6749 §4.1.2: a replayed code marks the token response with invalid_grant and its description', async () => {
    const c = client()
    const first = await c.buildAuthorizationUrl()
    const callback = fake.authorize(first.url)
    await c.handleCallback({ loginId: first.loginId, url: callback })
    recorded = []
    const second = await c.buildAuthorizationUrl()
    const replay = new URL(callback)
    replay.searchParams.set('state', second.url.searchParams.get('state') ?? '')
    await c.handleCallback({ loginId: second.loginId, url: replay }).catch(() => undefined)
    const view = describeHandshake(recorded)
    expect(view.outcome).toBe('failed')
    const last = view.steps.at(-1)
    expect(last).toMatchObject({ from: 'server', to: 'client', channel: 'back', label: '400 invalid_grant', failure: 'invalid_grant: unknown or used code' })
    expect(view.steps.at(-2)?.details).toContain(`code=${fingerprint(callback.searchParams.get('code') ?? '')}…`)
    expect(view.summary).toBe('The handshake stopped at the token request: invalid_grant: unknown or used code.')
    expect(view.steps.find((s) => s.label.startsWith('Consent'))?.details).toEqual(['not confirmed: a code came back, but the Auth Server refused it'])
    expect(texts(renderHandshakeSvg(view))).toContain('✕ 400 invalid_grant')
  })

  it('OIDC Core §2: an old auth_time is drawn as a login without a password', async () => {
    fake.idTokenTamper = { claims: { auth_time: fake.now - 3600 } }
    const c = client()
    const { url, loginId } = await c.buildAuthorizationUrl()
    await c.handleCallback({ loginId, url: fake.authorize(url) })
    const login = describeHandshake(recorded).steps.find((s) => s.label.startsWith('Login'))
    // A span, not a clock time (which would be in no viewer's time zone).
    expect(login?.details[1]).toBe('no password asked: a session at the Auth Server from 1.0 h before the ID token (auth_time)')
  })

  it('a handshake still at the Auth Server is waiting', async () => {
    await client().buildAuthorizationUrl()
    expect(describeHandshake(recorded)).toMatchObject({ outcome: 'waiting' })
  })
})
