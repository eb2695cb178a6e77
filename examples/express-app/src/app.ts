/**
 * The demo client app: the whole authorization code handshake with `@authcode/client` and Express.
 * Server-rendered pages (no client-side script; eta escapes every value, src/views.ts), its own CSP. Tokens stay in
 * the server-side token store: pages show the user's name, the granted scopes and the access
 * token's expiry, never a token.
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import { MemoryTokenStore, OAuthClient, SessionError, type TokenStore } from '@authcode/client'
import { authcode, isSameOrigin, requireAuth, toWebRequest } from '@authcode/client/express'
import { ChatHub } from './chat.js'
import { HandshakeRecorder } from './handshake.js'
import { HANDSHAKE_STYLE } from './handshake-svg.js'
import { render } from './views.js'

/** What the demo app asks for: sign-in, profile, and the example chat broker's scopes. */
export const DEFAULT_SCOPE = 'openid profile email read:messages write:messages'

export interface DemoAppOptions {
  /** The authorization server's issuer, e.g. `http://localhost:4000`. */
  issuer: string
  clientId: string
  clientSecret: string
  /** The registered redirect URI, e.g. `http://localhost:3000/callback`; its origin is the app's. */
  redirectUri: string
  /** Default {@link DEFAULT_SCOPE}. */
  scope?: string
  tokenStore?: TokenStore
  /** The example chat broker (examples/broker); default `ws://localhost:8080`. */
  brokerUrl?: string
  /** The chat room; default `lobby`. */
  chatRoom?: string
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; } header { color: #57606a; font-size: .9rem; }
form { display: inline-block; margin: 0 .5rem .5rem 0; }
button { font: inherit; padding: .4rem 1rem; border-radius: 6px; border: 1px solid #1f6feb; background: #1f6feb; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1f6feb; }
dt { font-weight: 600; } dd { margin: 0 0 .6rem 0; }
code, pre { background: #f6f8fa; border-radius: 6px; } pre { padding: .8rem; overflow-x: auto; }
.note { color: #57606a; font-size: .9rem; } .error { color: #cf222e; }
`

/** Builds the app (listening is the caller's business: see main.ts). */
export function createDemoApp(options: DemoAppOptions): { app: express.Express; client: OAuthClient; chat: ChatHub } {
  const tokenStore = options.tokenStore ?? new MemoryTokenStore()
  // Each step of each login, for the handshake diagram (src/handshake.ts): fingerprints, no secret.
  const handshakes = new HandshakeRecorder({ secure: new URL(options.redirectUri).protocol === 'https:' })
  const clientOptions = {
    server: { kind: 'discovery' as const, issuer: options.issuer },
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: options.redirectUri,
    scope: options.scope ?? DEFAULT_SCOPE,
    tokenStore,
    onEvent: handshakes.onEvent,
  }
  const client = new OAuthClient(clientOptions)
  const room = options.chatRoom ?? 'lobby'
  // The user's token stays here: the app talks to the broker, the browser only to the app.
  const chat = new ChatHub({ brokerUrl: options.brokerUrl ?? 'ws://localhost:8080', room, accessToken: (sessionId) => client.getAccessToken(sessionId) })
  const appOrigin = new URL(options.redirectUri).origin
  const issuerOrigin = new URL(options.issuer).origin

  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', false)

  app.use((_req, res, next) => {
    res.setHeader(
      'content-security-policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' ${issuerOrigin}; frame-ancestors 'none'; base-uri 'none'`,
    )
    res.setHeader('x-frame-options', 'DENY')
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('referrer-policy', 'no-referrer')
    next()
  })
  // Forms are same-origin POSTs; refuse any other site (the session cookie is SameSite=Lax too).
  app.use((req, res, next) => {
    if (req.method === 'POST' && !isSameOrigin(toWebRequest(req, appOrigin), appOrigin)) {
      res.status(403).type('text/plain').send('Cross-origin request refused.')
      return
    }
    next()
  })

  app.get('/style.css', (_req, res) => {
    res.type('text/css').setHeader('cache-control', 'public, max-age=300')
    res.send(STYLE + HANDSHAKE_STYLE)
  })

  app.use(handshakes.middleware)
  app.use(authcode({ client, renderError: handshakes.renderError }))
  app.get('/handshake', handshakes.page)

  app.get('/', (req, res) => {
    const signedIn = req.auth !== undefined
    res.setHeader('cache-control', 'no-store')
    res.send(render('home', { title: 'authcode demo app', signedIn, issuer: options.issuer }))
  })

  app.get('/dashboard', requireAuth(), async (req, res) => {
    const auth = req.auth
    if (auth === undefined) return
    // The ID token holds few profile claims; the name comes from UserInfo (back channel), else the ID token.
    const profile = await client.userinfo(auth.sessionId).catch(() => undefined)
    const scopes = (auth.scope ?? '').split(' ').filter((s) => s !== '')
    res.setHeader('cache-control', 'no-store')
    res.send(
      render('dashboard', {
        title: 'Dashboard',
        refreshed: req.query.refreshed === '1',
        name: displayName(profile ?? auth.claims),
        scopes,
        expiry: expiry(auth.expiresAt),
        sub: String(auth.claims?.sub ?? ''),
        accountUrl: `${options.issuer.replace(/\/$/, '')}/account`,
      }),
    )
  })

  // The back channel: the client's fetch helper calls the server's /userinfo with the Bearer token.
  app.post('/api', requireAuth(), async (req, res) => {
    const { as } = await client.metadata()
    if (as.userinfo_endpoint === undefined) throw new Error('the server has no userinfo endpoint')
    const response = await client.fetch(req.auth?.sessionId ?? '', as.userinfo_endpoint, { headers: { accept: 'application/json' } })
    const text = await response.text()
    let shown = text
    try {
      shown = JSON.stringify(JSON.parse(text), null, 2)
    } catch {
      // not JSON: shown as text
    }
    res.setHeader('cache-control', 'no-store')
    res.send(render('api', { title: 'API result', endpoint: as.userinfo_endpoint, status: response.status, result: shown }))
  })

  // Not behind requireAuth(): a session that already ended (access removed at the server: a revoked
  // token was refused, the refresh that followed got invalid_grant) gets the same clear page as one
  // that ends now, not a bare 401.
  app.post('/refresh', async (req, res) => {
    if (req.auth === undefined) {
      sessionEnded(res)
      return
    }
    await client.refresh(req.auth.sessionId)
    res.redirect(303, '/dashboard?refreshed=1')
  })

  // The chat page: the app holds one broker subscription per session and shows its buffer.
  type ChatNotice = { sent: true } | { invalid: true } | { refused: string } | undefined
  const chatPage = async (sessionId: string, res: Response, notice: ChatNotice, reconnect = false): Promise<void> => {
    const state = await chat.state(sessionId, reconnect)
    res.setHeader('cache-control', 'no-store')
    res.send(
      render('chat', {
        title: 'Chat',
        notice: notice !== undefined && 'sent' in notice ? 'sent' : notice !== undefined && 'invalid' in notice ? 'invalid' : undefined,
        refused: notice !== undefined && 'refused' in notice ? notice.refused : undefined,
        status: state.status,
        reason: state.reason,
        room,
        roomUrl: chat.roomUrl,
        messages: state.messages,
      }),
    )
  }

  app.get('/chat', requireAuth(), async (req, res) => {
    await chatPage(req.auth?.sessionId ?? '', res, req.query.sent === '1' ? { sent: true } : undefined)
  })

  app.post('/chat', requireAuth(), express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const sessionId = req.auth?.sessionId ?? ''
    const text = typeof req.body?.message === 'string' ? (req.body.message as string).trim() : ''
    if (text === '' || text.length > 2000) {
      res.status(400)
      await chatPage(sessionId, res, { invalid: true })
      return
    }
    await chat.state(sessionId) // subscribe first, so that the message shows up in the buffer
    const result = await chat.send(sessionId, text)
    if (result.ok) {
      res.redirect(303, '/chat?sent=1')
      return
    }
    res.status(403)
    await chatPage(sessionId, res, { refused: result.reason })
  })

  app.post('/chat/reconnect', requireAuth(), async (req, res) => {
    await chat.state(req.auth?.sessionId ?? '', true)
    res.redirect(303, '/chat')
  })

  app.use((_req, res) => {
    res.status(404).send(render('message', { title: 'Not found', text: 'There is nothing here.', isError: false }))
  })

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Log the error's code and message only: this package's errors never carry a token.
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'ERROR'
    console.error(`demo app: request failed: ${code}: ${error instanceof Error ? error.message : 'unknown error'}`)
    if (error instanceof SessionError) {
      sessionEnded(res)
      return
    }
    res.status(502).send(render('message', { title: 'Something went wrong', text: `The request failed (${code}).`, isError: true }))
  })

  return { app, client, chat }
}

/** The session is over (the client library deleted it): say so, with the way back in. */
function sessionEnded(res: Response): void {
  res.setHeader('cache-control', 'no-store')
  res.send(render('message', { title: 'Signed out', text: 'Your session has ended: the authorization server no longer accepts this app\'s access (it was removed or expired). Log in again to continue.', isError: false }))
}

function displayName(claims: Readonly<Record<string, unknown>> | undefined): string {
  for (const key of ['name', 'preferred_username', 'email', 'sub']) {
    const value = claims?.[key]
    if (typeof value === 'string' && value !== '') return value
  }
  return 'unknown user'
}

function expiry(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return 'not reported by the server'
  const left = expiresAt - Math.floor(Date.now() / 1000)
  return `${new Date(expiresAt * 1000).toISOString()} (in ${left} s)`
}
