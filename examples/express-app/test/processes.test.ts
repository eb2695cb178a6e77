/**
 * The demo app as several processes behind one address (issue #16, "Done when"): two processes of
 * `src/main.ts`, each started as `npm start` would, behind a small round-robin proxy (every request
 * to the next process, no sticky sessions), sharing pending logins and sessions in a Redis of the
 * test's own (a free port; the machine's Redis is never touched).
 *
 * - A login started on one process completes on the other.
 * - Concurrent refreshes of one session from both processes make one refresh request: the
 *   authorization server sits behind a proxy of the test that counts refresh grants and holds the
 *   first long enough for the other process to ask too (a second request with the same refresh
 *   token would be a reuse, which revokes the family: RFC 9700 §4.14).
 * - With Redis stopped, a login fails within seconds with a clear page and a log line, not a hang
 *   or a crash; once Redis is back, logins work again without a restart.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, freePort, startServer, type TestServer } from '../../../packages/server/test/harness.js'
import { hasRedisServer, NO_REDIS, startRedis, stopAllRedis, type RedisServer } from '../../../packages/client/test/redis-server.js'

const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ROOT = resolve(APP_DIR, '../..')

/** One answer a proxy relayed: which backend served it. */
interface Relayed {
  method: string
  path: string
  port: number
  status: number
}

interface Proxy {
  url: string
  relayed: Relayed[]
  close(): Promise<void>
}

/**
 * A reverse proxy on a free port: each request goes to the next of `ports` in turn (a new upstream
 * request each time, so keep-alive connections do not pin a backend). `hold` may delay a request,
 * seeing its body, before it is passed on.
 */
async function startProxy(ports: number[], hold?: (method: string, path: string, body: Buffer) => Promise<void>): Promise<Proxy> {
  const relayed: Relayed[] = []
  let next = 0
  const server: Server = createServer((incoming: IncomingMessage, outgoing) => {
    const chunks: Buffer[] = []
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
    incoming.on('end', () => {
      const body = Buffer.concat(chunks)
      const port = ports[next++ % ports.length] as number
      const method = incoming.method ?? 'GET'
      const path = incoming.url ?? '/'
      void (hold?.(method, path, body) ?? Promise.resolve()).then(() => {
        const upstream = request({ host: '127.0.0.1', port, method, path, headers: incoming.headers }, (answer) => {
          relayed.push({ method, path: path.split('?')[0] ?? path, port, status: answer.statusCode ?? 0 })
          outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders)
          answer.pipe(outgoing)
        })
        upstream.on('error', () => outgoing.writeHead(502).end())
        upstream.end(body)
      })
    })
  })
  const port = await freePort()
  await new Promise<void>((ready) => server.listen(port, '127.0.0.1', ready))
  return {
    url: `http://localhost:${port}`,
    relayed,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}

interface AppProcess {
  port: number
  child: ChildProcess
  output(): string
}

/** `node --import tsx src/main.ts` in the app's folder, as `npm start` there runs it; resolves once it listens. */
async function startApp(port: number, env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const deadline = Date.now() + 30_000
  while (!output.includes('authcode demo app on ')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the demo app on ${port} did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { port, child, output: () => output }
}

async function stopApp(app: AppProcess | undefined): Promise<void> {
  if (app === undefined || app.child.exitCode !== null) return
  const exited = new Promise((done) => app.child.once('exit', done))
  app.child.kill('SIGTERM')
  await exited
}

if (!hasRedisServer) {
  describe('the demo app as two processes sharing Redis', () => it.skip(NO_REDIS, () => {}))
} else {
  describe('the demo app as two processes sharing Redis, behind a round-robin proxy', () => {
    let server: TestServer
    let redis: RedisServer
    let asProxy: Proxy
    let appProxy: Proxy
    let dir: string
    const apps: AppProcess[] = []
    let user: { username: string; password: string }
    /** Refresh grants that reached the authorization server, and how long to hold the first one. */
    let refreshGrants = 0
    let holdRefreshMs = 0

    beforeAll(async () => {
      // What the processes run is the built client (they import @authcode/client as a user does).
      spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--build', join(ROOT, 'packages/client')], { cwd: ROOT })
      // The authorization server behind a proxy of the test's own, which is its issuer.
      const asPort = await freePort()
      asProxy = await startProxy([asPort], async (method, path, body) => {
        if (method !== 'POST' || !path.startsWith('/token') || !body.toString().includes('grant_type=refresh_token')) return
        refreshGrants += 1
        if (refreshGrants === 1 && holdRefreshMs > 0) await new Promise((r) => setTimeout(r, holdRefreshMs))
      })
      server = await startServer({ issuer: asProxy.url }, { port: asPort })
      user = await server.addUser('ren', 'correct horse battery', { name: 'Ren Example' })
      redis = await startRedis()

      const ports = [await freePort(), await freePort()]
      appProxy = await startProxy(ports)
      const client = await server.addClient({ name: 'authcode demo app', redirectUris: [`${appProxy.url}/callback`], scope: 'openid profile email' })
      dir = mkdtempSync(join(tmpdir(), 'authcode-demo-processes-'))
      const demoFile = join(dir, 'demo.json')
      writeFileSync(demoFile, JSON.stringify({ client_id: client.clientId, client_secret: client.secret, redirect_uri: client.redirectUri }))
      const env = { AUTHCODE_DEMO_FILE: demoFile, AUTHCODE_ISSUER: asProxy.url, AUTHCODE_SCOPE: 'openid profile email', REDIS_URL: redis.url }
      for (const port of ports) apps.push(await startApp(port, env))
    }, 120_000)

    afterAll(async () => {
      for (const app of apps) await stopApp(app)
      await appProxy?.close()
      await asProxy?.close()
      await server?.close()
      await stopAllRedis()
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    })

    /** Which process served the last request to `path`. */
    const servedBy = (path: string): number | undefined => appProxy.relayed.findLast((r) => r.path === path)?.port

    /** A whole login through the proxy; returns the browser (its session cookie) and the processes that served /login and /callback. */
    async function logIn(): Promise<{ browser: Browser; login: number | undefined; callback: number | undefined }> {
      const browser = new Browser()
      const login = await browser.get(`${appProxy.url}/login`)
      expect(login.status).toBe(302)
      const { callback } = await authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), user)
      if (callback === undefined) throw new Error('the server did not redirect back')
      const done = await browser.get(callback.href)
      expect(done.status).toBe(303)
      expect(done.headers.get('location')).toBe('/dashboard')
      return { browser, login: servedBy('/login'), callback: servedBy('/callback') }
    }

    it('a login started on one process completes on the other; the session is good on both', async () => {
      const { browser, login, callback } = await logIn()
      // Strict alternation, and nothing else went through the proxy in between: two processes.
      expect(login).toBeDefined()
      expect(callback).toBeDefined()
      expect(login).not.toBe(callback)
      for (let i = 0; i < 2; i += 1) {
        const dashboard = await browser.get(`${appProxy.url}/dashboard`)
        expect(dashboard.status).toBe(200)
        expect(await dashboard.text()).toContain('Ren Example')
      }
      expect(new Set(appProxy.relayed.filter((r) => r.path === '/dashboard').map((r) => r.port)).size).toBe(2)
    }, 60_000)

    it('SECURITY 22: refreshes of one session asked of both processes at once make one refresh request (rotated once)', async () => {
      const { browser } = await logIn()
      const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
      refreshGrants = 0
      holdRefreshMs = 1500
      // Both processes directly, at the same time, as two tabs behind the proxy would.
      const answers = await Promise.all(
        apps.map((app) =>
          fetch(`http://127.0.0.1:${app.port}/refresh`, { method: 'POST', redirect: 'manual', headers: { cookie, 'sec-fetch-site': 'same-origin' } }),
        ),
      )
      holdRefreshMs = 0
      expect(answers.map((a) => [a.status, a.headers.get('location')])).toEqual([
        [303, '/dashboard?refreshed=1'],
        [303, '/dashboard?refreshed=1'],
      ])
      expect(refreshGrants).toBe(1)
      // Had the old refresh token been sent twice, the server would have revoked the family and
      // the session would be over; it is not, on either process.
      for (let i = 0; i < 2; i += 1) {
        const dashboard = await browser.get(`${appProxy.url}/dashboard`)
        expect(dashboard.status).toBe(200)
        expect(await dashboard.text()).toContain('Ren Example')
      }
      const again = await browser.post(`${appProxy.url}/refresh`, {}, { origin: appProxy.url })
      expect(again.headers.get('location')).toBe('/dashboard?refreshed=1')
      expect(refreshGrants).toBe(2)
    }, 60_000)

    it('Redis stopped: a login is a clear 503 page and a log line within seconds, and works again once Redis is back, without a restart', async () => {
      const { browser } = await logIn()
      await redis.stop()
      const started = Date.now()
      const login = await fetch(`${appProxy.url}/login`, { redirect: 'manual' })
      expect(Date.now() - started).toBeLessThan(5000)
      expect(login.status).toBe(503)
      expect(login.headers.get('content-type')).toMatch(/^text\/html/)
      const page = await login.text()
      expect(page).toContain('Sign-in unavailable')
      expect(page).toContain('STORE_UNAVAILABLE')
      expect(page).toContain('href="/style.css"')
      // A signed-in page: the session cannot be read either; a page that says so, not a hang.
      const dashboard = await browser.get(`${appProxy.url}/dashboard`)
      expect(dashboard.status).toBe(503)
      expect(await dashboard.text()).toContain('Temporarily unavailable')
      const logs = apps.map((app) => app.output()).join('\n')
      expect(logs).toMatch(/demo app: sign-in failed: STORE_UNAVAILABLE: RedisLoginStateStore: save failed/)
      expect(logs).toContain('demo app: Redis is unreachable')
      expect(logs).not.toContain(redis.url)
      expect(apps.every((app) => app.child.exitCode === null)).toBe(true)

      await redis.start()
      const deadline = Date.now() + 15_000
      for (;;) {
        const answer = await fetch(`${appProxy.url}/login`, { redirect: 'manual' })
        const ready = answer.status === 302
        await answer.body?.cancel()
        // Both processes must be back: two successes in a row (one on each).
        if (ready && (await fetch(`${appProxy.url}/login`, { redirect: 'manual' })).status === 302) break
        if (Date.now() > deadline) throw new Error(`no recovery within 15 s:\n${apps.map((app) => app.output()).join('\n')}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      const again = await logIn()
      expect(again.login).not.toBe(again.callback)
      expect((await again.browser.get(`${appProxy.url}/dashboard`)).status).toBe(200)
      expect(apps.map((app) => app.output()).join('\n')).toContain('demo app: Redis is back')
    }, 90_000)
  })
}
