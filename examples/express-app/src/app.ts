/**
 * The demo client app: the whole authorization code handshake with `@authcode/client` and Express.
 * Server-rendered pages (eta escapes every value, src/views.ts; one small script of its own for
 * local times and the live chat), its own CSP. Tokens stay in the server-side token store: pages
 * show the user's name, the granted scopes and the access token's expiry, never a token.
 */
import { fileURLToPath } from 'node:url'
import express, { type NextFunction, type Request, type Response } from 'express'
import { MemoryTokenStore, OAuthClient, SessionError, StoreError, type LoginStateStore, type TokenStore } from '@authcode/client'
import { authcode, isSameOrigin, requireAuth, toWebRequest } from '@authcode/client/express'
import { ChatHub, type ChatMessage } from './chat.js'
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
  /**
   * Where the authorization server sends the browser after its own sign-out (RP-Initiated Logout),
   * when it offers that and has this URI registered for the client: the home page's "You are signed
   * out" (`<origin>/?signedOut=1`) is the natural one. Without it, or without a server that offers
   * it, the app's logout ends there itself.
   */
  postLogoutRedirectUri?: string
  /**
   * Pending logins; default in memory. Several processes of the app behind one address share one
   * (a login may start on one process and come back to another): `RedisLoginStateStore`.
   */
  loginStateStore?: LoginStateStore
  /** Sessions; default in memory. Several processes share one, like `loginStateStore`: `RedisTokenStore`. */
  tokenStore?: TokenStore
  /** The example chat broker (examples/broker); default `ws://localhost:8080`. */
  brokerUrl?: string
  /** The chat room; default `lobby`. */
  chatRoom?: string
}

/** The app's static files: the one script (times in the viewer's locale, the live chat) and the icons. */
const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url))

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; } header { color: #57606a; font-size: .9rem; }
form { display: inline-block; margin: 0 .5rem .5rem 0; }
button { font: inherit; padding: .4rem 1rem; border-radius: 6px; border: 1px solid #1f6feb; background: #1f6feb; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1f6feb; }
input { font: inherit; padding: .4rem .6rem; border: 1px solid #8c959f; border-radius: 6px; color: inherit; background: #fff; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 2px solid #0969da; outline-offset: 2px; }
dt { font-weight: 600; } dd { margin: 0 0 .6rem 0; }
code, pre { background: #f6f8fa; border-radius: 6px; } pre { padding: .8rem; overflow-x: auto; }
.note { color: #57606a; font-size: .9rem; } .error { color: #cf222e; }
.notice { background: #dafbe1; border: 1px solid #4ac26b; border-radius: 6px; padding: .5rem .8rem; }
form.chat-form { display: flex; gap: .5rem; align-items: center; width: 100%; margin: 1rem 0; }
form.chat-form label { font-weight: 600; } form.chat-form input { flex: 1; min-width: 0; }
ul.messages { list-style: none; padding: 0; margin: 1rem 0; border: 1px solid #d0d7de; border-radius: 6px; max-height: 24rem; overflow-y: auto; }
ul.messages li { padding: .5rem .8rem; border-bottom: 1px solid #eaeef2; } ul.messages li:last-child { border-bottom: 0; }
ul.messages .sender { font-weight: 600; } ul.messages .sender.mine { color: #0969da; }
ul.messages time { color: #57606a; font-size: .85rem; margin-left: .4rem; } ul.messages .text { display: block; overflow-wrap: anywhere; }
`

/** Builds the app (listening is the caller's business: see main.ts). */
export function createDemoApp(options: DemoAppOptions): { app: express.Express; client: OAuthClient; chat: ChatHub } {
  const tokenStore = options.tokenStore ?? new MemoryTokenStore()
  // Each step of each login, for the handshake diagram (src/handshake.ts): fingerprints, no secret.
  const handshakes = new HandshakeRecorder({ secure: new URL(options.redirectUri).protocol === 'https:' })
  const client = new OAuthClient({
    server: { kind: 'discovery' as const, issuer: options.issuer },
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: options.redirectUri,
    scope: options.scope ?? DEFAULT_SCOPE,
    ...(options.postLogoutRedirectUri === undefined ? {} : { postLogoutRedirectUri: options.postLogoutRedirectUri }),
    ...(options.loginStateStore === undefined ? {} : { loginStateStore: options.loginStateStore }),
    tokenStore,
    onEvent: handshakes.onEvent,
  })
  const room = options.chatRoom ?? 'lobby'
  // The user's token stays here: the app talks to the broker, the browser only to the app.
  const chat = new ChatHub({ brokerUrl: options.brokerUrl ?? 'ws://localhost:8080', room, accessToken: (sessionId) => client.getAccessToken(sessionId) })
  const appOrigin = new URL(options.redirectUri).origin
  const issuerOrigin = new URL(options.issuer).origin
  // A used or stale callback link goes to the dashboard when signed in; logout ends on a confirmation.
  const auth = authcode({ client, renderError: handshakes.renderError, afterLogin: '/dashboard', afterLogout: '/?signedOut=1' })
  /** A POST without a session (a form left open after the session ended): the "Signed out" page. */
  const signedIn = requireAuth({ unauthenticated: (_req, res) => sessionEnded(res) })

  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', false)

  app.use((_req, res, next) => {
    res.setHeader(
      'content-security-policy',
      `default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self' ${issuerOrigin}; frame-ancestors 'none'; base-uri 'none'`,
    )
    res.setHeader('x-frame-options', 'DENY')
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('referrer-policy', 'no-referrer')
    next()
  })
  // Forms are same-origin POSTs; refuse any other site (the session cookie is SameSite=Lax too).
  app.use((req, res, next) => {
    if (req.method === 'POST' && !isSameOrigin(toWebRequest(req, appOrigin), appOrigin)) {
      res.status(403).send(render('page', { title: 'Request refused', text: 'This form was sent from another site, so this app did not act on it.', isError: true, login: false, handshake: false }))
      return
    }
    next()
  })

  app.get('/style.css', (_req, res) => {
    res.type('text/css').setHeader('cache-control', 'public, max-age=300')
    res.send(STYLE + HANDSHAKE_STYLE)
  })
  app.use(express.static(PUBLIC, { index: false, maxAge: '5m' }))

  app.use(handshakes.middleware)
  app.use(auth)
  app.get('/handshake', handshakes.page)

  app.get('/', (req, res) => {
    const signedIn = req.auth !== undefined
    res.setHeader('cache-control', 'no-store')
    res.send(render('home', { title: 'authcode demo app', signedIn, signedOut: !signedIn && req.query.signedOut === '1', issuer: options.issuer }))
  })

  app.get('/dashboard', requireAuth(), async (req, res) => {
    const session = req.auth
    if (session === undefined) return
    // The ID token holds few profile claims; the name comes from UserInfo (back channel), else the
    // ID token. A session the server no longer honours (access removed) ends here: "Signed out".
    const profile = await client.userinfo(session.sessionId).catch((error: unknown) => {
      if (error instanceof SessionError) throw error
      return undefined
    })
    const scopes = (session.scope ?? '').split(' ').filter((s) => s !== '')
    const { expiresAt } = session
    res.setHeader('cache-control', 'no-store')
    res.send(
      render('dashboard', {
        title: 'Dashboard',
        refreshed: req.query.refreshed === '1',
        name: displayName(profile ?? session.claims),
        scopes,
        expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt * 1000).toISOString(),
        expiresAtText: expiresAt === undefined ? undefined : utcText(expiresAt * 1000),
        expiresIn: expiresAt === undefined ? undefined : expiresAt - Math.floor(Date.now() / 1000),
        sub: String(session.claims?.sub ?? ''),
        accountUrl: `${options.issuer.replace(/\/$/, '')}/account`,
      }),
    )
  })

  // The back channel: the client's fetch helper calls the server's /userinfo with the Bearer token.
  app.post('/api', signedIn, async (req, res) => {
    const { as } = await client.metadata()
    if (as.userinfo_endpoint === undefined) throw new Error('the server has no userinfo endpoint')
    // A token the server refuses is refreshed once; a refused refresh ends the session (SessionError).
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

  app.post('/refresh', signedIn, async (req, res) => {
    await client.refresh(req.auth?.sessionId ?? '')
    res.redirect(303, '/dashboard?refreshed=1')
  })

  // The chat page: the app holds one broker subscription per session and shows its buffer; the
  // page's script then follows /chat/events for the messages that arrive after it.
  type ChatNotice = { sent: true } | { invalid: true } | { refused: string } | undefined
  const chatPage = async (req: Request, res: Response, notice: ChatNotice, reconnect = false): Promise<void> => {
    const session = req.auth
    if (session === undefined) return
    const state = await chat.state(session.sessionId, reconnect)
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
        messages: state.messages.map((m) => messageView(m, session.claims?.sub)),
        // The live list picks up after the last message shown here (none lost in between).
        since: state.messages.at(-1)?.seq ?? 0,
      }),
    )
  }

  app.get('/chat', requireAuth(), async (req, res) => {
    await chatPage(req, res, req.query.sent === '1' ? { sent: true } : undefined)
  })

  // Server-sent events: the session's messages after `since` (the `seq` of the last one the page
  // shows; on a reconnection the browser's Last-Event-ID), then each new one as it arrives. Without a session,
  // 204 (EventSource stops asking).
  app.get('/chat/events', async (req, res) => {
    const session = req.auth
    if (session === undefined) {
      res.status(204).end()
      return
    }
    const last = Number(req.get('last-event-id') ?? req.query.since)
    const since = Number.isSafeInteger(last) && last >= 0 ? last : Number.POSITIVE_INFINITY
    const { messages } = await chat.state(session.sessionId)
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' })
    res.write(': subscribed\n\n')
    const send = (message: ChatMessage): void => {
      res.write(`id: ${message.seq}\nevent: message\ndata: ${JSON.stringify(messageView(message, session.claims?.sub))}\n\n`)
    }
    for (const message of messages) if (message.seq > since) send(message)
    const stop = chat.listen(session.sessionId, (event) => {
      if (event.type === 'message') send(event.message)
      else res.write(`event: closed\ndata: ${JSON.stringify({ reason: event.reason })}\n\n`)
    })
    req.on('close', stop)
  })

  app.post('/chat', signedIn, express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const session = req.auth
    if (session === undefined) return
    const text = typeof req.body?.message === 'string' ? (req.body.message as string).trim() : ''
    if (text === '' || text.length > 2000) {
      res.status(400)
      await chatPage(req, res, { invalid: true })
      return
    }
    await chat.state(session.sessionId) // subscribe first, so that the message shows up in the buffer
    // The name others see beside the message: from UserInfo (the ID token holds few profile claims).
    const profile = await client.userinfo(session.sessionId).catch((error: unknown) => {
      if (error instanceof SessionError) throw error
      return undefined
    })
    const result = await chat.send(session.sessionId, text, displayName(profile ?? session.claims))
    if (result.ok) {
      res.redirect(303, '/chat?sent=1')
      return
    }
    res.status(403)
    await chatPage(req, res, { refused: result.reason })
  })

  app.post('/chat/reconnect', signedIn, async (req, res) => {
    await chat.state(req.auth?.sessionId ?? '', true)
    res.redirect(303, '/chat')
  })

  app.use((_req, res) => {
    res.status(404).send(render('page', { title: 'Not found', text: 'There is nothing here.', isError: false, login: false, handshake: false }))
  })

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Log the error's code and message only: this package's errors never carry a token.
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'ERROR'
    // The session ended (the server refused its refresh token): the client library deleted it.
    if (error instanceof SessionError && error.code !== 'REFRESH_LOCK_TIMEOUT') {
      res.append('set-cookie', auth.handler.clearSessionCookie())
      sessionEnded(res)
      return
    }
    console.error(`demo app: request failed: ${code}: ${error instanceof Error ? error.message : 'unknown error'}`)
    res.setHeader('cache-control', 'no-store')
    if (error instanceof StoreError || error instanceof SessionError) {
      res.status(503).send(render('page', { title: 'Temporarily unavailable', text: `This app cannot reach its sessions right now (${code}). Try again in a moment.`, isError: true, login: false, handshake: false }))
      return
    }
    // A request the app could not read (too large, malformed): its 4xx status, on a page.
    const status = typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 502
    res.status(status).send(render('page', { title: status === 502 ? 'Something went wrong' : 'Request refused', text: `The request failed (${code}).`, isError: true, login: false, handshake: false }))
  })

  return { app, client, chat }
}

/** The session is over (the client library deleted it): say so, with the way back in. */
function sessionEnded(res: Response): void {
  res.setHeader('cache-control', 'no-store')
  res.send(render('page', { title: 'Signed out', text: "Your session has ended: the authorization server no longer accepts this app's access (it was removed or expired). Log in again to continue.", isError: false, login: true, handshake: false }))
}

/** A person's name from claims; never the opaque subject. */
function displayName(claims: Readonly<Record<string, unknown>> | undefined): string | undefined {
  for (const key of ['name', 'preferred_username', 'email']) {
    const value = claims?.[key]
    if (typeof value === 'string' && value !== '') return value
  }
  return undefined
}

/** A time as it shows before the page's script puts it in the viewer's locale and time zone. */
function utcText(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** A chat message as the page shows it: who sent it (you, their name, or their subject), and when. */
function messageView(message: ChatMessage, viewer: unknown): { sender: string; mine: boolean; sentAt: string; sentAtText: string; text: string } {
  const mine = message.from !== undefined && message.from === viewer
  const sender = mine ? 'You' : (message.name ?? (message.from === undefined ? 'Someone' : `User ${message.from.slice(0, 8)}`))
  return { sender, mine, sentAt: message.sentAt, sentAtText: utcText(Date.parse(message.sentAt)), text: message.text }
}
