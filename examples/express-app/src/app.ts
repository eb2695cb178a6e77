/**
 * The demo client app: the whole authorization code handshake with `@authcode/client` and Express.
 * Server-rendered pages (no client-side script), every value escaped, its own CSP. Tokens stay in
 * the server-side token store: pages show the user's name, the granted scopes and the access
 * token's expiry, never a token.
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import { MemoryTokenStore, OAuthClient, SessionError, type TokenStore } from '@authcode/client'
import { authcode, escapeHtml, isSameOrigin, requireAuth, toWebRequest } from '@authcode/client/express'
import { ChatHub } from './chat.js'

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
  const clientOptions = {
    server: { kind: 'discovery' as const, issuer: options.issuer },
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: options.redirectUri,
    scope: options.scope ?? DEFAULT_SCOPE,
    tokenStore,
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
    res.send(STYLE)
  })

  app.use(authcode({ client }))

  app.get('/', (req, res) => {
    const signedIn = req.auth !== undefined
    res.setHeader('cache-control', 'no-store')
    res.send(
      page(
        'authcode demo app',
        signedIn
          ? `<p>You are signed in.</p>
             <form method="get" action="/dashboard"><button>Dashboard</button></form>${logoutForm()}`
          : `<p>This app signs you in with the OAuth 2.0 authorization code flow (PKCE, state, nonce) at
             <code>${escapeHtml(options.issuer)}</code>. Your tokens stay on this app's server.</p>
             <form method="get" action="/login"><input type="hidden" name="returnTo" value="/dashboard"><button>Log in</button></form>`,
      ),
    )
  })

  app.get('/dashboard', requireAuth(), async (req, res) => {
    const auth = req.auth
    if (auth === undefined) return
    // The ID token holds few profile claims; the name comes from UserInfo (back channel), else the ID token.
    const profile = await client.userinfo(auth.sessionId).catch(() => undefined)
    const scopes = (auth.scope ?? '').split(' ').filter((s) => s !== '')
    const notice = req.query.refreshed === '1' ? '<p class="note">The tokens were refreshed.</p>' : ''
    res.setHeader('cache-control', 'no-store')
    res.send(
      page(
        'Dashboard',
        `${notice}<p>Welcome, <strong id="name">${escapeHtml(displayName(profile ?? auth.claims))}</strong>.</p>
         <dl>
           <dt>Granted scopes</dt><dd id="scopes">${scopes.map((s) => `<code>${escapeHtml(s)}</code>`).join(' ') || '(none reported)'}</dd>
           <dt>Access token expires</dt><dd id="expiry">${escapeHtml(expiry(auth.expiresAt))}</dd>
           <dt>Subject</dt><dd><code>${escapeHtml(String(auth.claims?.sub ?? ''))}</code></dd>
         </dl>
         <p class="note">The tokens themselves never leave this app's server.</p>
         <form method="post" action="/api"><button>Call the API</button></form>
         <form method="post" action="/refresh"><button class="secondary">Refresh tokens</button></form>
         <form method="get" action="/chat"><button class="secondary">Chat</button></form>
         ${logoutForm()}`,
      ),
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
    res.send(
      page(
        'API result',
        `<p>GET <code>${escapeHtml(as.userinfo_endpoint)}</code> with the session's access token answered
         <strong id="status">${response.status}</strong>:</p>
         <pre id="result">${escapeHtml(shown)}</pre>
         <form method="get" action="/dashboard"><button class="secondary">Back to the dashboard</button></form>`,
      ),
    )
  })

  app.post('/refresh', requireAuth(), async (req, res) => {
    await client.refresh(req.auth?.sessionId ?? '')
    res.redirect(303, '/dashboard?refreshed=1')
  })

  // The chat page: the app holds one broker subscription per session and shows its buffer.
  const chatPage = async (sessionId: string, res: Response, notice: string, reconnect = false): Promise<void> => {
    const state = await chat.state(sessionId, reconnect)
    const status =
      state.status === 'open'
        ? `<p class="note" id="chat-status">Subscribed to room <code>${escapeHtml(room)}</code> at <code>${escapeHtml(chat.roomUrl)}</code> with your access token (held by this app). Reload to see new messages.</p>`
        : `<p class="error" id="chat-status">The broker ${state.status === 'closed' ? 'closed the subscription' : 'has not answered yet'}${state.reason === undefined ? '' : `: <strong id="chat-reason">${escapeHtml(state.reason)}</strong>`}</p>
           <form method="post" action="/chat/reconnect"><button class="secondary">Reconnect</button></form>`
    const messages = state.messages.length === 0
      ? '<p class="note" id="messages">No messages since you opened the chat.</p>'
      : `<ul id="messages">${state.messages.map((m) => `<li><span class="note">${escapeHtml(m.sentAt)}</span> ${escapeHtml(m.text)}</li>`).join('')}</ul>`
    res.setHeader('cache-control', 'no-store')
    res.send(
      page(
        'Chat',
        `${notice}${status}${messages}
         <form method="post" action="/chat"><label>Message <input name="message" maxlength="2000" required autocomplete="off"></label> <button>Send</button></form>
         <form method="get" action="/chat"><button class="secondary">Reload</button></form>
         <form method="get" action="/dashboard"><button class="secondary">Back to the dashboard</button></form>`,
      ),
    )
  }

  app.get('/chat', requireAuth(), async (req, res) => {
    const notice = req.query.sent === '1' ? '<p class="note" id="chat-notice">Message sent.</p>' : ''
    await chatPage(req.auth?.sessionId ?? '', res, notice)
  })

  app.post('/chat', requireAuth(), express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const sessionId = req.auth?.sessionId ?? ''
    const text = typeof req.body?.message === 'string' ? (req.body.message as string).trim() : ''
    if (text === '' || text.length > 2000) {
      res.status(400)
      await chatPage(sessionId, res, '<p class="error" id="chat-error">Write a message of 1 to 2000 characters.</p>')
      return
    }
    await chat.state(sessionId) // subscribe first, so that the message shows up in the buffer
    const result = await chat.send(sessionId, text)
    if (result.ok) {
      res.redirect(303, '/chat?sent=1')
      return
    }
    res.status(403)
    await chatPage(sessionId, res, `<p class="error" id="chat-error">The broker refused the message: <strong>${escapeHtml(result.reason)}</strong></p>`)
  })

  app.post('/chat/reconnect', requireAuth(), async (req, res) => {
    await chat.state(req.auth?.sessionId ?? '', true)
    res.redirect(303, '/chat')
  })

  app.use((_req, res) => {
    res.status(404).send(page('Not found', '<p>There is nothing here.</p><p><a href="/">Home</a></p>'))
  })

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Log the error's code and message only: this package's errors never carry a token.
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'ERROR'
    console.error(`demo app: request failed: ${code}: ${error instanceof Error ? error.message : 'unknown error'}`)
    if (error instanceof SessionError) {
      res.redirect(303, '/')
      return
    }
    res.status(502).send(page('Something went wrong', `<p class="error">The request failed (${escapeHtml(code)}).</p><p><a href="/">Home</a></p>`))
  })

  return { app, client, chat }
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="stylesheet" href="/style.css"></head>
<body><header>authcode demo app</header><main><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`
}

function logoutForm(): string {
  return '<form method="post" action="/logout"><button class="secondary">Log out</button></form>'
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
