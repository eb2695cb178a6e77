/**
 * Builds an `OAuthClient` wired to a `FakeAuthorizationServer`, and logs a user in through it; an
 * Express app over such a client on a real port, and callers that reach it from a loopback address
 * of their own (so the app sees distinct caller addresses without any proxy header).
 */
import { Agent, request, type Server } from 'node:http'
import express from 'express'
import { OAuthClient } from '../src/client.js'
import type { ClientOptions } from '../src/config/options.js'
import type { CallbackResult } from '../src/callback/handle-callback.js'
import { authcode, type ExpressAuthOptions } from '../src/express/index.js'
import { MemoryTokenStore } from '../src/storage/memory.js'
import type { SessionRecord } from '../src/tokens/store.js'
import { CLIENT_ID, CLIENT_SECRET, FakeAuthorizationServer, ISSUER, REDIRECT_URI } from './fake-as.js'

export function clientFor(fake: FakeAuthorizationServer, options: Partial<ClientOptions> = {}): OAuthClient {
  return new OAuthClient({
    server: { kind: 'discovery', issuer: ISSUER },
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    scope: 'openid profile',
    now: () => fake.now,
    fetch: fake.fetch,
    refreshLockPollMs: 2,
    ...options,
  })
}

/** A whole login: authorization URL, the fake server's redirect, the callback. */
export async function login(fake: FakeAuthorizationServer, client: OAuthClient): Promise<CallbackResult> {
  const { url, loginId } = await client.buildAuthorizationUrl()
  return client.handleCallback({ loginId, url: fake.authorize(url) })
}

/** A `MemoryTokenStore` that knows which session keys it holds (to find sessions no cookie points to). */
export class KeyedTokenStore extends MemoryTokenStore {
  readonly keys = new Set<string>()

  override async set(key: string, record: SessionRecord): Promise<void> {
    this.keys.add(key)
    return super.set(key, record)
  }

  override async delete(key: string): Promise<void> {
    this.keys.delete(key)
    return super.delete(key)
  }
}

export interface TestApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  close(): Promise<void>
}

/** `authcode()` over `client` in an Express app on 127.0.0.1 (ephemeral port); `GET /` answers 200. */
export async function startApp(client: OAuthClient, options: Partial<ExpressAuthOptions> = {}): Promise<TestApp> {
  const web = express()
  web.use(authcode({ client, ...options }))
  web.get('/', (req, res) => {
    res.json({ signedIn: req.auth !== undefined })
  })
  const server = await new Promise<Server>((resolve) => {
    const listening = web.listen(0, '127.0.0.1', () => resolve(listening))
  })
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface Answer {
  status: number
  location: string | undefined
  setCookie: string[]
  body: string
}

/**
 * A browser at one loopback address (`127.0.0.2`, `127.0.0.3`, … all reach 127.0.0.1 on Linux; the
 * app sees it as `req.ip`): keeps its cookies, never follows redirects, reuses its connections.
 */
export class Caller {
  readonly cookies = new Map<string, string>()
  readonly #agent: Agent
  readonly #keepCookies: boolean

  /** `keepCookies: false` plays a script that throws every cookie away. */
  constructor(
    readonly app: TestApp,
    readonly address: string,
    options: { keepCookies?: boolean } = {},
  ) {
    this.#agent = new Agent({ keepAlive: true, localAddress: address })
    this.#keepCookies = options.keepCookies ?? true
  }

  /** GET a path (with its query) of the app, or the path and query of an absolute URL. */
  get(target: string | URL): Promise<Answer> {
    const url = typeof target === 'string' ? new URL(target, this.app.url) : target
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    return new Promise((resolve, reject) => {
      const req = request(`${this.app.url}${url.pathname}${url.search}`, { agent: this.#agent, headers: cookie === '' ? {} : { cookie } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const setCookie = res.headers['set-cookie'] ?? []
          for (const line of this.#keepCookies ? setCookie : []) {
            const [pair = ''] = line.split(';')
            const eq = pair.indexOf('=')
            if (/Max-Age=0/i.test(line)) this.cookies.delete(pair.slice(0, eq))
            else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1))
          }
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, setCookie, body: Buffer.concat(chunks).toString() })
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}
