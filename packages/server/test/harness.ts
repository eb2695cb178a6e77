/**
 * Test harness: a real authcode server on an ephemeral port over a fresh SQLite file, a clock the
 * test moves (no sleeps), and a minimal browser (cookie jar, manual redirects) that walks the
 * login and consent pages like a person would.
 */
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { loadConfig, type ServerConfig } from '../src/config/load.js'
import { buildApp } from '../src/http/app.js'
import type { AppDeps } from '../src/http/services.js'
import { registerClient, type ClientRegistration } from '../src/protocol/clients.js'
import { s256 } from '../src/protocol/pkce.js'
import type { ClientRecord, Store } from '../src/protocol/store.js'
import { openStore } from '../src/storage/open.js'
import { loadKeyEncryptionKey } from '../src/tokens/kek.js'
import { KeyRing } from '../src/tokens/key-ring.js'
import { hashPassword, randomToken } from '../src/tokens/secrets.js'
import { writeFile } from 'node:fs/promises'

/**
 * A loopback port nobody listens on, chosen below the kernel's ephemeral range (Linux: 32768-60999)
 * so that an outgoing connection (to PostgreSQL, say) or another `listen(0)` cannot take it between
 * this check and the caller's bind; the caller binds it later, which is why `listen(0)` is no answer.
 * Two callers picking the same port at the same moment is the one race left: 1 in 12,000.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (await canBind(port)) return port
  }
  throw new Error('no free loopback port between 20000 and 31999')
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A clock in whole seconds that only moves when the test says so. */
export class TestClock {
  current = Math.floor(Date.now() / 1000)
  now = (): number => this.current
  advance(seconds: number): void {
    this.current += seconds
  }
}

export interface TestClient {
  record: ClientRecord
  clientId: string
  secret: string | null
  redirectUri: string
}

export interface TestServer {
  url: string
  config: ServerConfig
  store: Store
  keys: KeyRing
  app: FastifyInstance
  clock: TestClock
  dir: string
  close(): Promise<void>
  addClient(registration?: Partial<ClientRegistration>): Promise<TestClient>
  addUser(username?: string, password?: string, claims?: { name?: string; email?: string }): Promise<{ id: string; username: string; password: string }>
}

/**
 * Starts a server. `file` is a config file's content (validated like the real one), e.g.
 * `{ lifetimes: { code: 60 } }`; `options.port` fixes the port (default: a free one);
 * `options.deps` adds to what `buildApp` is given (an event hook, a metrics registry, a log stream);
 * `options.db` a database URL in place of a fresh SQLite file (a PostgreSQL database the test made).
 */
export async function startServer(
  file: Record<string, unknown> = {},
  options: { port?: number; db?: string; deps?: Omit<AppDeps, 'store' | 'keys' | 'now'> } = {},
): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'authcode-test-'))
  // A port chosen by the caller lets a document (AsyncAPI) name the server's URLs before it starts.
  const port = options.port ?? (await freePort())
  const configPath = join(dir, 'authcode.json')
  await writeFile(configPath, JSON.stringify({ logLevel: 'silent', ...file }))
  const config = loadConfig({ port, config: configPath, db: options.db ?? `sqlite:${join(dir, 'authcode.db')}` }, {}, dir)
  const { store } = await openStore(config.db, { poolSize: config.dbPoolSize })
  const keys = new KeyRing(store, loadKeyEncryptionKey({ dataDir: config.dataDir }), {
    activationDelay: config.keys.activationDelay,
    maxTokenLifetime: Math.max(config.lifetimes.accessToken, config.lifetimes.idToken),
    cacheTtl: config.keys.cacheTtl,
  })
  const clock = new TestClock()
  await keys.ensureKeys(clock.now())
  const app = await buildApp(config, { ...options.deps, store, keys, now: clock.now })
  await app.listen({ port, host: '127.0.0.1' })
  const url = config.issuer

  return {
    url,
    config,
    store,
    keys,
    app,
    clock,
    dir,
    async close() {
      await app.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
    async addClient(registration = {}) {
      const redirectUri = registration.redirectUris?.[0] ?? 'https://rp.test/cb'
      const { record, secret } = registerClient(
        { name: 'Test App', redirectUris: [redirectUri], scope: 'openid profile email', isPublic: false, ...registration },
        Object.keys(config.scopes),
        clock.now(),
      )
      await store.createClient(record)
      return { record, clientId: record.clientId, secret, redirectUri }
    },
    async addUser(username = `user-${randomUUID().slice(0, 8)}`, password = 'correct horse battery', claims = {}) {
      const id = randomUUID()
      const now = clock.now()
      await store.createUser({
        id,
        username,
        passwordHash: await hashPassword(password),
        name: claims.name ?? 'Alice Example',
        email: claims.email ?? `${username}@example.com`,
        emailVerified: true,
        createdAt: now,
        updatedAt: now,
        disabledAt: null,
      })
      return { id, username, password }
    },
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomToken()
  return { verifier, challenge: s256(verifier) }
}

/** Query string of an authorization request with sensible defaults; `undefined` values are dropped. */
export function authorizeQuery(client: TestClient, overrides: Record<string, string | undefined> = {}): string {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: 'openid profile email',
    state: 'S1',
    nonce: 'N1',
    code_challenge_method: 'S256',
    ...overrides,
  }
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.append(k, v)
  return search.toString()
}

export function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`
}

/** POST a form (`application/x-www-form-urlencoded`) with optional headers. */
export function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  })
}

/** A cookie-keeping user agent that never follows redirects by itself. */
export class Browser {
  readonly cookies = new Map<string, string>()

  #remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair?.indexOf('=') ?? -1
      if (pair === undefined || eq === -1) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  #cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {}
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(url, { redirect: 'manual', headers: { ...this.#cookieHeader(), ...headers } })
    this.#remember(response)
    return response
  }

  /**
   * Posts a form as a browser does: `Sec-Fetch-Site` says whether the page it came from (the
   * `origin` header when given, else one of the target's own pages) is of the target's origin,
   * unless `headers` set it themselves.
   */
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const from = headers.origin
    // `Origin: null` says nothing of where the form came from: the test says it, or nothing is sent.
    const site: Record<string, string> =
      from === 'null' ? {} : { 'sec-fetch-site': from === undefined || from === new URL(url).origin ? 'same-origin' : 'cross-site' }
    const response = await postForm(url, form, { ...site, ...this.#cookieHeader(), ...headers })
    this.#remember(response)
    return response
  }
}

/** The value of a hidden input in a page. */
export function hiddenInput(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (match?.[1] === undefined) throw new Error(`no input ${name} in page`)
  return match[1]
}

/** Resolves a Location header against the server. */
export function locationOf(response: Response, base: string): string {
  const location = response.headers.get('location')
  if (location === null) throw new Error(`expected a redirect, got ${response.status}`)
  return new URL(location, base).href
}

export interface AuthorizeOutcome {
  /** The final redirect to the client (its Location), or undefined when the flow stopped at a page. */
  callback: URL | undefined
  /** The last response seen. */
  response: Response
}

/**
 * Drives an authorization request through login (when asked) and consent (when asked), as a user
 * who approves. Stops at the first redirect that leaves the server.
 */
export async function authorize(
  server: TestServer,
  browser: Browser,
  query: string,
  user: { username: string; password: string },
  decision: 'approve' | 'deny' = 'approve',
): Promise<AuthorizeOutcome> {
  let response = await browser.get(`${server.url}/authorize?${query}`)
  for (let step = 0; step < 10; step++) {
    if (response.status >= 300 && response.status < 400) {
      const next = locationOf(response, server.url)
      if (!next.startsWith(server.url)) return { callback: new URL(next), response }
      response = await browser.get(next)
      continue
    }
    if (response.status !== 200) return { callback: undefined, response }
    const html = await response.text()
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
    if (action === undefined) return { callback: undefined, response }
    const csrf = hiddenInput(html, 'csrf')
    const form: Record<string, string> = action.endsWith('/login')
      ? { csrf, username: user.username, password: user.password }
      : { csrf, decision }
    response = await browser.post(new URL(action, server.url).href, form)
  }
  throw new Error('authorization did not finish in 10 steps')
}

/** A full authorization + code exchange for a confidential client; returns the token response. */
export async function obtainTokens(
  server: TestServer,
  client: TestClient,
  user: { username: string; password: string },
  overrides: Record<string, string | undefined> = {},
): Promise<{ tokens: Record<string, unknown>; code: string; verifier: string; browser: Browser }> {
  const browser = new Browser()
  const { verifier, challenge } = pkcePair()
  const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge, ...overrides }), user)
  const code = callback?.searchParams.get('code')
  if (code == null) throw new Error(`no code: ${callback?.href ?? 'no callback'}`)
  const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
  const response = await postForm(
    `${server.url}/token`,
    client.secret === null ? { ...form, client_id: client.clientId } : form,
    client.secret === null ? {} : { authorization: basicAuth(client.clientId, client.secret) },
  )
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`)
  return { tokens: (await response.json()) as Record<string, unknown>, code, verifier, browser }
}
