/**
 * The handshake, drawn: the client library's flow events (`onEvent`, see @authcode/client's
 * `FlowEvent`) become the steps of a sequence diagram with four lifelines — User, Browser, Client
 * Backend, Auth Server — one arrow per step, front channel and back channel apart, each step with
 * its time and the parameters that matter. Rendered on the server as inline SVG (no script, the
 * page's CSP stays strict) through eta, which escapes every value, server-supplied text included.
 *
 * Nothing here sees a secret: the events carry codes, tokens, `state` and the PKCE verifier as
 * fingerprints only (6 hex characters of their SHA-256), shown as `a1b2c3…`.
 *
 * The client backend does not see the login and consent pages. Those two steps are derived from
 * what it does see when the browser comes back — the time between the redirect and the callback,
 * the ID token's `auth_time`, the scopes granted against those asked for, `error=access_denied` —
 * and drawn as such (dotted, "observed at callback").
 */
import { Eta } from 'eta'
import type {
  AuthorizationRequestEvent,
  BackchannelLogoutEvent,
  CallbackEvent,
  EndSessionEvent,
  FlowEvent,
  ResourceEvent,
  RevocationEvent,
  TokenEvent,
} from '@authcode/client'

/** One event as the demo app recorded it, with the request that caused it (`GET /dashboard`), if known. */
export interface RecordedEvent {
  readonly event: FlowEvent
  readonly route: string | undefined
}

export type Lane = 'user' | 'browser' | 'client' | 'server'

export const LANE_NAMES: Readonly<Record<Lane, string>> = { user: 'User', browser: 'Browser', client: 'Client Backend', server: 'Auth Server' }

/** One arrow of the diagram (and one item of the text list beside it). */
export interface Step {
  readonly from: Lane
  readonly to: Lane
  /** Front channel: through the browser. Back channel: server to server. */
  readonly channel: 'front' | 'back'
  /** `observed`: not seen by the client backend, derived from what it saw at the callback. */
  readonly kind: 'request' | 'response' | 'observed'
  readonly label: string
  readonly details: readonly string[]
  /** When it happened (ms since the epoch), when the client backend saw it. */
  readonly at: number | undefined
  readonly durationMs: number | undefined
  /** Why the handshake stopped (or this call failed) here. */
  readonly failure: string | undefined
}

export interface HandshakeView {
  readonly steps: readonly Step[]
  /** `waiting`: sent to the Auth Server, not back yet. `ended`: signed out or the session ended. */
  readonly outcome: 'complete' | 'waiting' | 'failed' | 'ended'
  /** One sentence: how it went, or where and why it stopped. */
  readonly summary: string
  readonly startedAt: number | undefined
}

/** A fingerprint as pages show it. */
const fp = (value: string | undefined): string => (value === undefined ? '(none)' : `${value}…`)

export function formatDuration(ms: number): string {
  if (ms < 1) return '<1 ms'
  if (ms < 1000) return `${Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(1)} s`
}

/** A span in seconds as the pages say it (no clock time: those would be in no viewer's time zone). */
function span(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}

function path(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return url
  }
}

function step(fields: Omit<Step, 'details' | 'at' | 'durationMs' | 'failure'> & Partial<Pick<Step, 'details' | 'at' | 'durationMs' | 'failure'>>): Step {
  return { details: [], at: undefined, durationMs: undefined, failure: undefined, ...fields }
}

/** A back-channel call: the Client Backend's request at `timed.at`, the Auth Server's answer `timed.durationMs` later. */
function backChannelCall(
  timed: { at: number; durationMs: number },
  request: Pick<Step, 'label' | 'details'>,
  response: Pick<Step, 'label' | 'details' | 'failure'>,
): [Step, Step] {
  return [
    step({ from: 'client', to: 'server', channel: 'back', kind: 'request', ...request, at: timed.at }),
    step({ from: 'server', to: 'client', channel: 'back', kind: 'response', ...response, at: timed.at + timed.durationMs, durationMs: timed.durationMs }),
  ]
}

/** The server's OAuth error and description, or this client's error code and message. */
function serverError(error: { code: string; message?: string; error?: string; errorDescription?: string } | undefined): string {
  if (error === undefined) return 'unknown error'
  if (error.error === undefined) return error.message === undefined ? error.code : `${error.code}: ${error.message}`
  const name = error.error
  return error.errorDescription === undefined ? name : `${name}: ${error.errorDescription}`
}

function clientAuth(event: TokenEvent): string {
  return event.clientSecret === undefined ? `client auth: ${event.authMethod}` : `client auth: ${event.authMethod}, secret ${fp(event.clientSecret)}`
}

function authorizationSteps(event: AuthorizationRequestEvent, route: string | undefined): Step[] {
  return [
    step({ from: 'browser', to: 'client', channel: 'front', kind: 'request', label: route ?? 'GET /login', details: [`a new login attempt ${fp(event.attempt)}`], at: event.at }),
    step({
      from: 'client',
      to: 'browser',
      channel: 'front',
      kind: 'response',
      label: '302 to the authorization endpoint',
      details: [
        `response_type=code · client_id=${event.clientId}`,
        `scope=${event.scope}`,
        `state=${fp(event.state)}${event.nonce === undefined ? '' : ` · nonce=${fp(event.nonce)}`}`,
        `code_challenge=${fp(event.codeChallenge)} (PKCE ${event.codeChallengeMethod})`,
        `code_verifier ${fp(event.codeVerifier)} stays on the client backend`,
      ],
      at: event.at,
      durationMs: event.durationMs,
    }),
    step({
      from: 'browser',
      to: 'server',
      channel: 'front',
      kind: 'observed',
      label: `GET ${path(event.endpoint)}?response_type=code&…`,
      details: ['the browser follows the redirect (the client backend does not see it)'],
    }),
  ]
}

/** Whether the ID token says the user authenticated during this handshake. */
function loginDetails(attempt: AuthorizationRequestEvent, callback: CallbackEvent, exchange: TokenEvent | undefined): string[] {
  const away = callback.at - (attempt.at + attempt.durationMs)
  const timing = `${formatDuration(away)} between the redirect and the callback`
  const { authTime, idTokenIssuedAt } = exchange?.response ?? {}
  if (authTime === undefined || idTokenIssuedAt === undefined) {
    return [timing, callback.outcome === 'accepted' && exchange === undefined ? 'waiting for the ID token' : 'not observable: no ID token came back']
  }
  // Both times are the Auth Server's clock: how long before the ID token the user authenticated,
  // against how long this handshake took on the client's clock (plus a second of rounding).
  const before = idTokenIssuedAt - authTime
  const window = (exchange === undefined ? 0 : exchange.at + exchange.durationMs - attempt.at) / 1000 + 1
  return before <= window
    ? [timing, `password entered during this handshake (auth_time ${span(before)} before the ID token)`]
    : [timing, `no password asked: a session at the Auth Server from ${span(before)} before the ID token (auth_time)`]
}

function consentStep(attempt: AuthorizationRequestEvent, callback: CallbackEvent, exchange: TokenEvent | undefined): Step {
  const base = { from: 'user', to: 'server', channel: 'front', kind: 'observed', label: 'Consent (observed at callback)' } as const
  if (callback.received.error === 'access_denied') {
    return step({ ...base, details: ['the redirect back carried error=access_denied'], failure: `consent denied: ${serverError(callback.error)}` })
  }
  if (callback.received.error !== undefined) return step({ ...base, details: [`not reached: the Auth Server answered error=${callback.received.error}`] })
  if (callback.outcome === 'refused') return step({ ...base, details: ['not observable: the callback was refused before its code was used'] })
  if (exchange?.error !== undefined) return step({ ...base, details: ['not confirmed: a code came back, but the Auth Server refused it'] })
  const granted = exchange?.response?.scope
  if (granted === undefined) return step({ ...base, details: ['approved: a code came back'] })
  const asked = attempt.scope.split(' ').filter((s) => s !== '')
  const given = granted.split(' ').filter((s) => s !== '')
  const same = asked.length === given.length && asked.every((s) => given.includes(s))
  return step({ ...base, details: same ? [`approved: every scope asked for: ${granted}`] : [`granted: ${granted}`, `asked for: ${attempt.scope}`] })
}

function checkDetails(event: CallbackEvent, attempt: AuthorizationRequestEvent | undefined): string[] {
  const details: string[] = []
  const { checks, received } = event
  if (checks.attempt === 'passed') details.push(`login cookie → attempt ${fp(event.attempt)}: found, unused`)
  if (checks.attempt === 'failed') {
    details.push(event.attempt === undefined ? 'no login cookie for this state' : `login attempt ${fp(event.attempt)}: unknown, used or expired`)
  }
  if (checks.state === 'passed') details.push(`state ${fp(received.state)} matched the attempt's ✓`)
  else if (checks.state === 'failed' || (attempt !== undefined && received.state !== attempt.state)) {
    details.push(`state ${fp(received.state)} ≠ the attempt's ${fp(attempt?.state)} ✕`)
  }
  if (checks.iss === 'passed') details.push(`iss ${received.iss ?? ''} checked (RFC 9207) ✓`)
  if (checks.iss === 'absent') details.push('no iss (the server does not promise RFC 9207)')
  if (checks.iss === 'failed') details.push(`iss ${received.iss ?? '(missing)'} ≠ ${event.issuer ?? 'the issuer'} ✕`)
  return details
}

function refusal(event: CallbackEvent, attempt: AuthorizationRequestEvent | undefined): string {
  const error = event.error
  const code = error?.code ?? 'INVALID_CALLBACK'
  if ((code === 'LOGIN_NOT_FOUND' || code === 'STATE_MISMATCH') && attempt !== undefined && event.received.state !== attempt.state) {
    return `state mismatch: the callback's state ${fp(event.received.state)} is not this attempt's ${fp(attempt.state)}; refused before any token request (${code})`
  }
  if (code === 'ISSUER_MISMATCH') return `iss not the expected issuer: refused before any token request (${code})`
  return `${code}: ${error?.message ?? 'refused'}; no token request was made`
}

function callbackSteps(attempt: AuthorizationRequestEvent | undefined, event: CallbackEvent, exchange: TokenEvent | undefined): { steps: Step[]; failure: string | undefined } {
  const steps: Step[] = []
  if (attempt !== undefined) {
    steps.push(step({ from: 'server', to: 'user', channel: 'front', kind: 'observed', label: 'Login (observed at callback)', details: loginDetails(attempt, event, exchange) }))
    steps.push(consentStep(attempt, event, exchange))
  }
  const { received } = event
  const otherError = received.error !== undefined && received.error !== 'access_denied'
  steps.push(
    step({
      from: 'server',
      to: 'browser',
      channel: 'front',
      kind: 'observed',
      label: '302 to the redirect URI',
      details: [
        received.code !== undefined ? `code=${fp(received.code)}` : received.error !== undefined ? `error=${received.error}` : 'no code',
        `state=${fp(received.state)} · iss=${received.iss ?? '(none)'}`,
        ...(event.outcome === 'refused' ? ['as it reached the callback: not known to come from the Auth Server'] : []),
      ],
      failure: otherError ? `the Auth Server answered ${serverError(event.error ?? { code: 'AUTHORIZATION_ERROR', error: received.error })}` : undefined,
    }),
  )
  const refused = event.outcome === 'refused' ? refusal(event, attempt) : undefined
  steps.push(
    step({
      from: 'browser',
      to: 'client',
      channel: 'front',
      kind: 'request',
      label: `GET /callback?${received.code === undefined && received.error !== undefined ? 'error' : 'code'}&state&iss`,
      details: checkDetails(event, attempt),
      at: event.at,
      durationMs: event.durationMs,
      failure: refused,
    }),
  )
  if (attempt === undefined) steps[steps.length - 1] = { ...(steps.at(-1) as Step), details: ['no login attempt of this browser came before it', ...(steps.at(-1) as Step).details] }
  const failure = refused ?? (event.outcome === 'error_response' ? `the Auth Server answered ${serverError(event.error)}` : undefined)
  return { steps, failure }
}

function tokenResponseDetails(event: TokenEvent): string[] {
  const r = event.response
  if (r === undefined) return []
  const details = [`access_token ${fp(r.accessToken)} · ${r.tokenType} · expires_in ${r.expiresIn === undefined ? '(not sent)' : `${r.expiresIn} s`}`]
  if (event.grant === 'refresh_token') {
    details.push(r.refreshToken === undefined ? 'refresh token kept (not rotated)' : `refresh_token rotated: ${fp(event.refreshToken)} → ${fp(r.refreshToken)}`)
  } else {
    details.push(r.refreshToken === undefined ? 'no refresh token' : `refresh_token ${fp(r.refreshToken)}`)
  }
  if (r.idToken !== undefined) {
    const lifetime = r.idTokenIssuedAt !== undefined && r.idTokenExpiresAt !== undefined ? ` (valid ${r.idTokenExpiresAt - r.idTokenIssuedAt} s)` : ''
    details.push(`id_token ${fp(r.idToken)}${lifetime}: signature, iss, aud, ${event.grant === 'authorization_code' ? 'nonce' : 'same sub'} checked`)
  }
  details.push(`scope: ${r.scope ?? '(not sent: as asked)'}`)
  return details
}

function tokenSteps(event: TokenEvent, route: string | undefined): { steps: Step[]; failure: string | undefined } {
  const code = event.grant === 'authorization_code'
  const failed = event.error === undefined ? undefined : `${serverError(event.error)}${event.sessionEnded ? ' (the session ended)' : ''}`
  const steps: Step[] = backChannelCall(
    event,
    {
      label: code ? `POST ${path(event.endpoint)}` : `POST ${path(event.endpoint)} (refresh)`,
      details: code
        ? ['grant_type=authorization_code', `code=${fp(event.code)}`, `code_verifier=${fp(event.codeVerifier)} (PKCE S256)`, clientAuth(event)]
        : ['grant_type=refresh_token', `refresh_token=${fp(event.refreshToken)}`, clientAuth(event), ...(route === undefined ? [] : [`asked at ${route}`])],
    },
    {
      label: failed === undefined ? `${event.status ?? 200} tokens` : `${event.status ?? 'no answer'} ${event.error?.error ?? event.error?.code ?? ''}`,
      details: failed === undefined ? tokenResponseDetails(event) : [`${event.error?.code ?? ''}${event.error?.status === undefined ? '' : ` (HTTP ${event.error.status})`}`],
      failure: failed,
    },
  )
  if (code && failed === undefined) {
    steps.push(
      step({
        from: 'client',
        to: 'browser',
        channel: 'front',
        kind: 'response',
        label: '303 + session cookie',
        details: [`session ${fp(event.session)} opened (HttpOnly cookie)`, 'the tokens stay on the client backend'],
        at: event.at + event.durationMs,
      }),
    )
  }
  return { steps, failure: failed }
}

function resourceSteps(event: ResourceEvent, route: string | undefined): Step[] {
  const failed = event.error === undefined ? undefined : serverError(event.error)
  return backChannelCall(
    event,
    {
      label: `${event.method} ${path(event.url)}`,
      details: [
        `Authorization: Bearer ${fp(event.accessToken)}`,
        ...(route === undefined ? [] : [`for ${route}${event.kind === 'userinfo' ? ' (UserInfo)' : ''}`]),
        ...(event.try === 2 ? ['the retry after a refresh'] : []),
      ],
    },
    {
      label: `${event.status ?? 'no answer'}${failed === undefined ? ' OK' : ''}`,
      details: failed === undefined ? [event.kind === 'userinfo' ? 'the user\u2019s claims' : 'the resource'] : [failed],
      failure: failed,
    },
  )
}

/** `then`: the logout goes on to the Auth Server's end-session endpoint, which draws its own 303. */
function revocationSteps(event: RevocationEvent, route: string | undefined, then: 'end_session' | undefined): Step[] {
  const steps: Step[] = []
  const where = route === undefined ? [] : [route.endsWith('/logout') ? `at logout (${route})` : `asked at ${route}`]
  if (event.outcome === 'skipped') {
    return [step({ from: 'client', to: 'client', channel: 'back', kind: 'request', label: 'no revocation endpoint', details: ['the session was deleted here only', ...where], at: event.at })]
  }
  steps.push(
    ...backChannelCall(
      event,
      { label: `POST ${path(event.endpoint ?? '/revoke')}`, details: [`token=${fp(event.token)} (token_type_hint=${event.tokenTypeHint})`, ...where] },
      {
        label: event.outcome === 'revoked' ? '200 revoked' : 'revocation failed',
        details: event.outcome === 'revoked' ? [event.tokenTypeHint === 'refresh_token' ? 'RFC 7009: the refresh token and its access tokens' : 'RFC 7009: the access token'] : [serverError(event.error)],
        failure: event.outcome === 'failed' ? serverError(event.error) : undefined,
      },
    ),
  )
  if (route?.endsWith('/logout') === true && then === undefined) {
    steps.push(step({ from: 'client', to: 'browser', channel: 'front', kind: 'response', label: '303 + session cookie cleared', details: ['signed out'], at: event.at + event.durationMs }))
  }
  return steps
}

/** RP-initiated logout (OpenID RP-Initiated Logout §2): the browser is sent on to end the sign-in at the Auth Server too. */
function endSessionSteps(event: EndSessionEvent): Step[] {
  return [
    step({
      from: 'client',
      to: 'browser',
      channel: 'front',
      kind: 'response',
      label: '303 to the end-session endpoint + session cookie cleared',
      details: [
        `client_id=${event.clientId}`,
        ...(event.postLogoutRedirectUri === undefined ? [] : [`post_logout_redirect_uri=${event.postLogoutRedirectUri}`]),
        event.idTokenHint === undefined
          ? 'no id_token_hint: the ID token stays on the client backend, so the Auth Server asks the user'
          : `id_token_hint=${fp(event.idTokenHint)} · state=${fp(event.state)}`,
      ],
      at: event.at,
      durationMs: event.durationMs,
    }),
    step({
      from: 'browser',
      to: 'server',
      channel: 'front',
      kind: 'observed',
      label: `GET ${path(event.endpoint)}?client_id&…`,
      details: ['the Auth Server ends its sign-in (the next login asks for the password), tells every app of it (back channel) and sends the browser back'],
    }),
  ]
}

/** Back-channel logout (OpenID Back-Channel Logout §2.5): the Auth Server's logout token, validated, and the sessions it ended. */
function backchannelLogoutSteps(event: BackchannelLogoutEvent, route: string | undefined): Step[] {
  const failed = event.outcome === 'refused' ? serverError(event.error) : undefined
  return [
    step({
      from: 'server',
      to: 'client',
      channel: 'back',
      kind: 'request',
      label: route ?? 'POST /backchannel-logout',
      details: [`logout_token=${fp(event.token)} (typ logout+jwt) · sid=${fp(event.sid)}`, 'signature (JWKS), iss, aud, iat, exp, event, no nonce, jti used once: checked'],
      at: event.at,
      failure: failed,
    }),
    step({
      from: 'client',
      to: 'server',
      channel: 'back',
      kind: 'response',
      label: failed === undefined ? '200' : '400 invalid_request',
      details: failed === undefined ? [`${event.sessions} session${event.sessions === 1 ? '' : 's'} of that sign-in ended here`] : [failed],
      at: event.at + event.durationMs,
      durationMs: event.durationMs,
    }),
  ]
}

/** The steps of one handshake, from its recorded events (oldest first). Nothing is drawn after a stop. */
export function describeHandshake(entries: readonly RecordedEvent[]): HandshakeView {
  const steps: Step[] = []
  let attempt: AuthorizationRequestEvent | undefined
  let called = false
  let failure: { at: string; why: string } | undefined
  let ended = false
  let signedOutByServer = false
  for (const [index, { event, route }] of entries.entries()) {
    if (failure !== undefined) break
    // After the session ended, only how the logout went on: to the Auth Server, and back from it.
    if (ended && event.type !== 'end_session' && event.type !== 'backchannel_logout') continue
    switch (event.type) {
      case 'authorization_request':
        attempt = event
        steps.push(...authorizationSteps(event, route))
        break
      case 'callback': {
        called = true
        const exchange = entries.slice(index + 1).map((e) => e.event).find((e): e is TokenEvent => e.type === 'token' && e.grant === 'authorization_code')
        const result = callbackSteps(attempt, event, exchange)
        steps.push(...result.steps)
        if (result.failure !== undefined) failure = { at: 'the callback', why: result.failure }
        break
      }
      case 'token': {
        const result = tokenSteps(event, route)
        steps.push(...result.steps)
        if (event.grant === 'authorization_code' && result.failure !== undefined) failure = { at: 'the token request', why: result.failure }
        if (event.sessionEnded) ended = true
        break
      }
      case 'resource':
        steps.push(...resourceSteps(event, route))
        break
      case 'revocation':
        steps.push(...revocationSteps(event, route, entries[index + 1]?.event.type === 'end_session' ? 'end_session' : undefined))
        if (route?.endsWith('/logout') === true) ended = true
        break
      case 'end_session':
        steps.push(...endSessionSteps(event))
        ended = true
        break
      case 'backchannel_logout':
        steps.push(...backchannelLogoutSteps(event, route))
        if (event.outcome === 'ended' && event.sessions > 0) {
          ended = true
          signedOutByServer = true
        }
        break
    }
  }
  const startedAt = steps.find((s) => s.at !== undefined)?.at
  if (failure !== undefined) return { steps, outcome: 'failed', summary: `The handshake stopped at ${failure.at}: ${failure.why}.`, startedAt }
  if (ended) {
    const summary = signedOutByServer ? 'The session ended: the Auth Server signed it out (back-channel logout).' : 'The session ended: signed out, its tokens revoked or refused.'
    return { steps, outcome: 'ended', summary, startedAt }
  }
  if (attempt !== undefined && !called) return { steps, outcome: 'waiting', summary: 'The browser was sent to the Auth Server and has not come back yet.', startedAt }
  return { steps, outcome: 'complete', summary: `Signed in: ${steps.length} steps; the tokens never left the client backend.`, startedAt }
}

// ——— the SVG ———

const WIDTH = 1060
const LANE_X: Readonly<Record<Lane, number>> = { user: 130, browser: 280, client: 430, server: 580 }
const NOTES_X = 656
const HEADER_Y = 64
const FIRST_ROW_Y = 112
const LINE = 14
const MAX_NOTE = 62

const COLORS = {
  front: { band: '#eef5ff', line: '#0550ae' },
  back: { band: '#fff4e0', line: '#953800' },
  observed: '#57606a',
  failed: '#cf222e',
  text: '#1f2328',
} as const

interface SvgRow {
  y: number
  height: number
  band: string
  time: string
  duration: string
  x1: number
  x2: number
  lineY: number
  self: boolean
  color: string
  width: number
  dash: string | undefined
  marker: string
  label: string
  labelX: number
  labelColor: string
  notes: { y: number; text: string }[]
  failure: { y: number; text: string } | undefined
}

const clip = (text: string, max = MAX_NOTE): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

/** Splits a long text into at most `limit` lines of the notes column. */
function wrap(text: string, limit: number, max = MAX_NOTE): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > max) {
      lines.push(line)
      line = ''
    }
    line = line === '' ? word : `${line} ${word}`
  }
  if (line !== '') lines.push(line)
  return lines.slice(0, limit).map((l, i, all) => (i === all.length - 1 && lines.length > limit ? `${clip(l, max - 1)}…` : clip(l, max)))
}

export function relativeTime(at: number | undefined, startedAt: number | undefined): string {
  if (at === undefined || startedAt === undefined) return '—'
  return `+${((at - startedAt) / 1000).toFixed(3)} s`
}

function layout(view: HandshakeView): { rows: SvgRow[]; height: number } {
  const rows: SvgRow[] = []
  let y = FIRST_ROW_Y
  for (const s of view.steps) {
    const failureLines = s.failure === undefined ? [] : wrap(`✕ ${s.failure}`, 4)
    const noteLines = s.details.flatMap((text) => wrap(text, 2).map((line, i) => (i === 0 ? line : `   ${line}`)))
    const height = Math.max(46, 14 + LINE * (noteLines.length + failureLines.length) + 8)
    const color = s.failure !== undefined ? COLORS.failed : s.kind === 'observed' ? COLORS.observed : COLORS[s.channel].line
    const self = s.from === s.to
    const x1 = LANE_X[s.from]
    const x2 = self ? x1 + 40 : LANE_X[s.to] + (LANE_X[s.to] > x1 ? -6 : 6)
    const notes = noteLines.map((text, i) => ({ y: y + 18 + i * LINE, text }))
    rows.push({
      y,
      height,
      band: COLORS[s.channel].band,
      time: relativeTime(s.at, view.startedAt),
      duration: s.durationMs === undefined ? '' : formatDuration(s.durationMs),
      x1,
      x2,
      lineY: y + 30,
      self,
      color,
      width: s.channel === 'back' ? 2.5 : 1.6,
      dash: s.kind === 'observed' ? '2 4' : s.kind === 'response' ? '7 4' : undefined,
      marker: s.failure !== undefined ? 'hs-failed' : s.kind === 'observed' ? 'hs-observed' : `hs-${s.channel}`,
      label: `${s.failure !== undefined ? '✕ ' : ''}${clip(s.label, 44)}`,
      labelX: self ? x1 + 6 : (x1 + LANE_X[s.to]) / 2,
      labelColor: s.failure !== undefined ? COLORS.failed : COLORS.text,
      notes,
      failure: s.failure === undefined ? undefined : { y: y + 18 + noteLines.length * LINE, text: failureLines.join('\n') },
    })
    y += height
  }
  return { rows, height: y + 16 }
}

const svgTemplates = new Eta({ autoEscape: true, autoTrim: false, cache: true })
svgTemplates.loadTemplate(
  '@svg',
  `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="hs-title hs-desc" viewBox="0 0 <%= it.width %> <%= it.height %>" width="<%= it.width %>" height="<%= it.height %>" font-family="system-ui, sans-serif" font-size="12" class="handshake-diagram">
<title id="hs-title"><%= it.title %></title>
<desc id="hs-desc"><%= it.desc %></desc>
<defs><% it.markers.forEach(function (m) { %><marker id="<%= m.id %>" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="<%= m.color %>"/></marker><% }) %></defs>
<rect x="0" y="0" width="<%= it.width %>" height="<%= it.height %>" fill="#ffffff"/>
<g class="legend">
<rect x="8" y="8" width="18" height="12" fill="<%= it.colors.front.band %>" stroke="<%= it.colors.front.line %>" stroke-width="1"/><text x="32" y="18" fill="<%= it.colors.text %>">front channel (through the browser)</text>
<rect x="260" y="8" width="18" height="12" fill="<%= it.colors.back.band %>" stroke="<%= it.colors.back.line %>" stroke-width="1"/><text x="284" y="18" fill="<%= it.colors.text %>">back channel (server to server)</text>
<line x1="490" y1="14" x2="530" y2="14" stroke="<%= it.colors.observed %>" stroke-width="1.6" stroke-dasharray="2 4"/><text x="536" y="18" fill="<%= it.colors.text %>">observed at callback (derived)</text>
<line x1="730" y1="14" x2="770" y2="14" stroke="<%= it.colors.failed %>" stroke-width="2"/><text x="776" y="18" fill="<%= it.colors.text %>">✕ failed: the handshake stopped</text>
<text x="8" y="40" fill="<%= it.colors.text %>">solid: request · dashed: response · a1b2c3… = first 6 hex characters of the value's SHA-256 (never the value)</text>
</g>
<% it.rows.forEach(function (r) { %><rect x="0" y="<%= r.y %>" width="<%= it.width %>" height="<%= r.height - 2 %>" fill="<%= r.band %>"/>
<% }) %>
<% it.lanes.forEach(function (l) { %><line x1="<%= l.x %>" y1="<%= it.headerY + 26 %>" x2="<%= l.x %>" y2="<%= it.height - 8 %>" stroke="#8c959f" stroke-width="1" stroke-dasharray="4 4"/>
<rect x="<%= l.x - 62 %>" y="<%= it.headerY %>" width="124" height="26" rx="4" fill="#ffffff" stroke="#1f2328" stroke-width="1"/><text x="<%= l.x %>" y="<%= it.headerY + 17 %>" text-anchor="middle" font-weight="600" fill="<%= it.colors.text %>"><%= l.name %></text>
<% }) %>
<text x="8" y="<%= it.headerY + 17 %>" font-weight="600" fill="<%= it.colors.text %>">time</text><text x="<%= it.notesX %>" y="<%= it.headerY + 17 %>" font-weight="600" fill="<%= it.colors.text %>">what was sent and checked</text>
<% it.rows.forEach(function (r) { %><g class="step">
<text x="8" y="<%= r.y + 18 %>" fill="<%= it.colors.text %>"><%= r.time %></text><% if (r.duration) { %><text x="8" y="<%= r.y + 32 %>" fill="<%= it.colors.observed %>"><%= r.duration %></text><% } %>
<% if (r.self) { %><path d="M<%= r.x1 %> <%= r.lineY - 8 %>h40v14h-34" fill="none" stroke="<%= r.color %>" stroke-width="<%= r.width %>"<% if (r.dash) { %> stroke-dasharray="<%= r.dash %>"<% } %> marker-end="url(#<%= r.marker %>)"/>
<% } else { %><line x1="<%= r.x1 %>" y1="<%= r.lineY %>" x2="<%= r.x2 %>" y2="<%= r.lineY %>" stroke="<%= r.color %>" stroke-width="<%= r.width %>"<% if (r.dash) { %> stroke-dasharray="<%= r.dash %>"<% } %> marker-end="url(#<%= r.marker %>)"/>
<% } %><text x="<%= r.labelX %>" y="<%= r.lineY - 6 %>"<% if (!r.self) { %> text-anchor="middle"<% } %> font-weight="600" fill="<%= r.labelColor %>"><%= r.label %></text>
<% r.notes.forEach(function (n) { %><text x="<%= it.notesX %>" y="<%= n.y %>" font-size="11.5" fill="<%= it.colors.text %>"><%= n.text %></text>
<% }) %><% if (r.failure) { %><text x="<%= it.notesX %>" y="<%= r.failure.y %>" font-size="11.5" font-weight="600" fill="<%= it.colors.failed %>"><% r.failure.text.split('\\n').forEach(function (line, i) { %><tspan x="<%= it.notesX %>" dy="<%= i === 0 ? 0 : 14 %>"><%= line %></tspan><% }) %></text>
<% } %></g>
<% }) %></svg>`,
)

/**
 * The diagram as an inline `<svg role="img">` with `<title>` and `<desc>`. Pair it with
 * `describeHandshake(...).steps` as a text list for screen readers (the demo's handshake page does).
 */
export function renderHandshakeSvg(view: HandshakeView, title = 'The OAuth 2.0 authorization code handshake'): string {
  const { rows, height } = layout(view)
  return svgTemplates.render('@svg', {
    width: WIDTH,
    height,
    title,
    desc: `Sequence diagram with four lifelines (User, Browser, Client Backend, Auth Server), ${view.steps.length} steps. ${view.summary} The same steps are listed as text after the diagram.`,
    colors: COLORS,
    markers: [
      { id: 'hs-front', color: COLORS.front.line },
      { id: 'hs-back', color: COLORS.back.line },
      { id: 'hs-observed', color: COLORS.observed },
      { id: 'hs-failed', color: COLORS.failed },
    ],
    lanes: (Object.keys(LANE_X) as Lane[]).map((lane) => ({ x: LANE_X[lane], name: LANE_NAMES[lane] })),
    headerY: HEADER_Y,
    notesX: NOTES_X,
    rows,
  })
}

/** CSS for the page around the diagram (served in the app's stylesheet: the CSP allows no inline style). */
export const HANDSHAKE_STYLE = `
figure.handshake { width: min(1060px, calc(100vw - 2rem)); margin: 1rem 0; position: relative; left: 50%; transform: translateX(-50%); }
figure.handshake svg { width: 100%; height: auto; display: block; }
figure.handshake figcaption { font-size: .9rem; color: #57606a; margin-top: .4rem; }
ol.handshake-steps li { margin-bottom: .5rem; } ol.handshake-steps .failed { color: #cf222e; font-weight: 600; }
.outcome-failed { color: #cf222e; font-weight: 600; }
/* Small screens: the steps as text first; the diagram after them at its own size (its text stays
   12 px), scrolled sideways inside its frame instead of shrunk to a third. */
@media (max-width: 720px) {
  .handshake-views { display: flex; flex-direction: column; }
  .handshake-views .handshake-text { order: 1; }
  .handshake-views figure.handshake { order: 2; width: 100%; left: auto; transform: none; }
  figure.handshake .handshake-scroll { overflow-x: auto; border: 1px solid #d0d7de; border-radius: 6px; }
  figure.handshake svg { width: ${WIDTH}px; max-width: none; }
}
`

/** One step as a sentence, for the text list beside the diagram. */
export function stepText(s: Step, startedAt: number | undefined): string {
  const channel = s.kind === 'observed' ? `${s.channel} channel, observed at callback` : `${s.channel} channel`
  const parts = [`${relativeTime(s.at, startedAt)} ${LANE_NAMES[s.from]} → ${LANE_NAMES[s.to]} (${channel}): ${s.label}.`]
  if (s.details.length > 0) parts.push(`${s.details.join('; ')}.`)
  if (s.durationMs !== undefined) parts.push(`Took ${formatDuration(s.durationMs)}.`)
  if (s.failure !== undefined) parts.push(`Failed: ${s.failure}.`)
  return parts.join(' ')
}
