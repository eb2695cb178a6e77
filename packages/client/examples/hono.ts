/**
 * @authcode/client in a Hono app, on the framework-agnostic Web handler (`createAuthHandler`): Hono
 * hands over the Web `Request` and takes the Web `Response` back, so no adapter is needed. The same
 * lines work on any framework built on Web `Request`/`Response` (Next.js route handlers, Elysia, …).
 *
 * Run it: `ISSUER=http://localhost:4000 CLIENT_ID=… CLIENT_SECRET=… node --import tsx examples/hono.ts`
 * (a client registered with the redirect URI http://localhost:3001/callback).
 */
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import { createAuthHandler, OAuthClient, type AuthSession } from '@authcode/client'

/** The app: `/login`, `/callback` and `/logout` from the handler; `c.var.auth` on every other route. */
export function createHonoApp(client: OAuthClient): Hono<{ Variables: { auth: AuthSession | undefined } }> {
  const auth = createAuthHandler({ client })
  const app = new Hono<{ Variables: { auth: AuthSession | undefined } }>()

  app.use(async (c, next) => {
    const response = await auth.handle(c.req.raw, { callerAddress: getConnInfo(c).remote.address })
    if (response !== undefined) return response
    const session = await auth.session(c.req.raw)
    c.set('auth', session)
    // A cookie naming an unknown or ended session is cleared.
    if (session === undefined && auth.sessionId(c.req.raw) !== undefined) c.header('set-cookie', auth.clearSessionCookie(), { append: true })
    await next()
  })

  app.get('/', (c) => c.html(c.var.auth === undefined ? '<a href="/login?returnTo=/me">Log in</a>' : '<form method="post" action="/logout"><button>Log out</button></form>'))
  app.get('/me', async (c) => {
    if (c.var.auth === undefined) return c.redirect('/login?returnTo=/me')
    return c.json(await client.userinfo(c.var.auth.sessionId)) // the Bearer token stays on the server
  })
  return app
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const client = new OAuthClient({
    server: { kind: 'discovery', issuer: process.env.ISSUER ?? 'http://localhost:4000' },
    clientId: process.env.CLIENT_ID ?? '',
    clientSecret: process.env.CLIENT_SECRET,
    redirectUri: 'http://localhost:3001/callback',
  })
  serve({ fetch: createHonoApp(client).fetch, port: 3001 }, () => console.log('Hono example on http://localhost:3001/'))
}
