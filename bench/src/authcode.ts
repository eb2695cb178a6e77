/**
 * authcode under test: the real CLI (`authcode serve`) in a child process on an embedded SQLite file
 * in a temporary directory, or on a PostgreSQL database (`db`), there optionally as several
 * instances behind one issuer (one secret, so each decrypts the signing keys in the database).
 * Clients, users, their login sessions and consents are written ahead through the server's own
 * storage code (the built store from `openStore`) from this process, which opens the same database
 * (SQLite: WAL lets both use the file); codes and refresh tokens are then minted through the front
 * channel (front-channel.ts).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { openStore } from '../../packages/server/dist/storage/open.js'
import { registerClient } from '../../packages/server/dist/protocol/clients.js'
import { hashPassword, hashToken, randomToken } from '../../packages/server/dist/tokens/secrets.js'
import { basicAuth, freePort, stopChild, waitReady } from './process.js'

/** The value of authcode's login session cookie (`interaction/cookies.ts`). */
const SESSION_COOKIE = 'authcode_session'
/** Users written at once: SQLite serializes them anyway; PostgreSQL overlaps round trips. */
const MINT_CONCURRENCY = 8

/** `n` results of `mintOne`, at most `MINT_CONCURRENCY` at a time, in order. */
async function mintMany<T>(n: number, mintOne: () => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < n; i = next++) out[i] = await mintOne()
  }
  await Promise.all(Array.from({ length: Math.min(MINT_CONCURRENCY, n) }, worker))
  return out
}

const BIN = fileURLToPath(new URL('../../packages/server/bin/authcode.js', import.meta.url))
export const REDIRECT_URI = 'https://rp.bench.test/cb'
export const SCOPES = ['openid', 'profile', 'email']
/** One verifier for every pre-minted code: the server still hashes it and compares per request. */
export const VERIFIER = 'bench-verifier-' + 'x'.repeat(40)
/** Seconds a code lives (the largest `lifetimes.code` allows): codes are minted just before each run. */
export const CODE_LIFETIME = 600

export interface BenchClient {
  clientId: string
  secret: string
  authorization: string
}

type Store = Awaited<ReturnType<typeof openStore>>['store']

export class AuthcodeServer {
  /** The first instance's URL, which is also the issuer. */
  readonly url: string
  /** Every instance's URL (one unless started with `instances`). */
  readonly urls: string[]
  readonly clients: Record<'ES256' | 'RS256', BenchClient>
  readonly #children: ChildProcess[]
  readonly #store: Store
  readonly #userId: string
  readonly #passwordHash: string
  /** The SQLite file; undefined on PostgreSQL. */
  readonly #dbPath: string | undefined

  private constructor(
    urls: string[],
    children: ChildProcess[],
    store: Store,
    clients: Record<'ES256' | 'RS256', BenchClient>,
    userId: string,
    passwordHash: string,
    dbPath: string | undefined,
  ) {
    this.url = urls[0] as string
    this.urls = urls
    this.#children = children
    this.#store = store
    this.clients = clients
    this.#userId = userId
    this.#passwordHash = passwordHash
    this.#dbPath = dbPath
  }

  /** The first instance's process id. */
  get pid(): number | undefined {
    return this.#children[0]?.pid
  }

  /** Every instance's process id. */
  get pids(): number[] {
    return this.#children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined)
  }

  /**
   * Starts `authcode serve` with its config and data in `dir`, on SQLite in `dir` or, when
   * `options.db` is given, on that PostgreSQL database (which must exist; it is migrated here);
   * there `options.instances` (default 1) processes on ports of their own, one issuer (the first's
   * URL) and one `AUTHCODE_SECRET`.
   */
  static async start(dir: string, options: { execArgv?: string[]; db?: string; instances?: number } = {}): Promise<AuthcodeServer> {
    const instances = options.instances ?? 1
    if (instances > 1 && options.db === undefined) throw new TypeError('several instances need a PostgreSQL database (options.db)')
    await mkdir(dir, { recursive: true })
    const ports: number[] = []
    while (ports.length < instances) {
      const port = await freePort()
      if (!ports.includes(port)) ports.push(port)
    }
    const url = `http://127.0.0.1:${ports[0] as number}`
    const dbPath = options.db === undefined ? join(dir, 'authcode.db') : undefined
    const db = dbPath === undefined ? (options.db as string) : `sqlite:${dbPath}`
    const configPath = join(dir, 'authcode.json')
    // logLevel warn: no per-request log lines (oidc-provider writes none either). Codes are minted
    // ahead with a 600 s lifetime (the largest lifetimes.code allows), just before each run.
    // consent.skipForFirstParty false: the bench clients are first-party, and the whole-flow
    // workload must find the user's remembered consent, as oidc-provider must find its Grant.
    await writeFile(
      configPath,
      JSON.stringify({ logLevel: 'warn', host: '127.0.0.1', issuer: url, dataDir: dir, consent: { skipForFirstParty: false }, lifetimes: { code: CODE_LIFETIME } }),
    )

    // Schema, clients and the user first, through the server's own store.
    const { store } = await openStore(db)
    const now = Math.floor(Date.now() / 1000)
    const clients = {} as Record<'ES256' | 'RS256', BenchClient>
    for (const alg of ['ES256', 'RS256'] as const) {
      const { record, secret } = registerClient(
        { name: `bench ${alg}`, redirectUris: [REDIRECT_URI], scope: SCOPES.join(' '), isPublic: false, idTokenAlg: alg, firstParty: true },
        SCOPES,
        now,
      )
      await store.createClient(record)
      clients[alg] = { clientId: record.clientId, secret: secret as string, authorization: basicAuth(record.clientId, secret as string) }
    }
    const userId = randomUUID()
    const passwordHash = await hashPassword('bench password 1')
    await store.createUser({
      id: userId,
      username: 'bench',
      passwordHash,
      name: 'Bench User',
      email: 'bench@example.com',
      emailVerified: true,
      createdAt: now,
      updatedAt: now,
      disabledAt: null,
    })

    // Several instances share one secret, as test/e2e/scale-out.test.ts's do.
    const secret = instances > 1 ? { AUTHCODE_SECRET: randomBytes(32).toString('base64url') } : {}
    const children: ChildProcess[] = []
    const urls = ports.map((port) => `http://127.0.0.1:${port}`)
    try {
      for (const [i, port] of ports.entries()) {
        const child = fork(BIN, ['serve', '--port', String(port), '--db', db, '--config', configPath], {
          execArgv: options.execArgv ?? [],
          env: { ...process.env, NODE_ENV: 'production', ...secret },
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        })
        children.push(child)
        // One after the other: the first migrates and creates the signing keys the others load.
        await waitReady(`${urls[i] as string}/.well-known/openid-configuration`, child)
      }
    } catch (error) {
      for (const child of children) child.kill('SIGKILL')
      await store.close()
      throw error
    }
    return new AuthcodeServer(urls, children, store, clients, userId, passwordHash, dbPath)
  }

  /**
   * `n` users, each signed in (a login session stored as the hash of its cookie value, as
   * `startLoginSession` does) and with a remembered consent to `client` for the bench scopes;
   * answers each user's `Cookie` header.
   */
  async loginSessions(client: BenchClient, n: number): Promise<string[]> {
    const now = Math.floor(Date.now() / 1000)
    return mintMany(n, async () => {
      const userId = randomUUID()
      await this.#store.createUser({
        id: userId,
        username: `bench-flow-${userId}`,
        passwordHash: this.#passwordHash,
        name: 'Bench Flow User',
        email: `${userId}@example.com`,
        emailVerified: true,
        createdAt: now,
        updatedAt: now,
        disabledAt: null,
      })
      const value = randomToken()
      await this.#store.createLoginSession({ idHash: hashToken(value), userId, authTime: now, createdAt: now, expiresAt: now + 86_400, browserHash: null })
      await this.#store.saveConsent(userId, client.clientId, SCOPES, now)
      return `${SESSION_COOKIE}=${value}`
    })
  }

  /**
   * Growth check: `n` past exchanges written straight into the SQLite file (one multi-row INSERT
   * per table per batch, one transaction per batch): a grant, its consumed code, an access token
   * and a refresh token each. Live, not expired: the purge would not remove them.
   */
  seedPastExchanges(n: number, client: BenchClient, tag: string): void {
    const db = new Database(this.#sqlitePath())
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('busy_timeout = 10000')
    const now = Math.floor(Date.now() / 1000)
    const scopes = JSON.stringify(SCOPES)
    const batch = 500
    const stmts = new Map<number, { grants: Database.Statement; codes: Database.Statement; ats: Database.Statement; rts: Database.Statement }>()
    const prepare = (rows: number) => {
      const p = (cols: number) => Array.from({ length: rows }, () => `(${Array(cols).fill('?').join(',')})`).join(',')
      return {
        grants: db.prepare(`INSERT INTO grants (id, client_id, user_id, scopes, auth_time, created_at, revoked_at) VALUES ${p(7)}`),
        codes: db.prepare(
          `INSERT INTO authorization_codes (code_hash, grant_id, client_id, user_id, redirect_uri, redirect_uri_sent, code_challenge, code_challenge_method, nonce, scopes, auth_time, created_at, expires_at, consumed_at) VALUES ${p(14)}`,
        ),
        ats: db.prepare(`INSERT INTO access_tokens (jti, grant_id, client_id, user_id, scopes, created_at, expires_at, revoked_at) VALUES ${p(8)}`),
        rts: db.prepare(`INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scopes, created_at, expires_at, rotated_at) VALUES ${p(8)}`),
      }
    }
    const insertBatch = db.transaction((from: number, rows: number) => {
      let s = stmts.get(rows)
      if (s === undefined) stmts.set(rows, (s = prepare(rows)))
      const g: unknown[] = []
      const c: unknown[] = []
      const a: unknown[] = []
      const r: unknown[] = []
      for (let i = from; i < from + rows; i++) {
        const id = `${tag}-${i}`
        g.push(`g-${id}`, client.clientId, this.#userId, scopes, now, now, null)
        c.push(hashToken(`c-${id}`), `g-${id}`, client.clientId, this.#userId, REDIRECT_URI, 1, 'x', 'S256', null, scopes, now, now, now + 86_400, now)
        a.push(`a-${id}`, `g-${id}`, client.clientId, this.#userId, scopes, now, now + 86_400, null)
        r.push(hashToken(`r-${id}`), `g-${id}`, client.clientId, this.#userId, scopes, now, now + 14 * 86_400, null)
      }
      s.grants.run(...g)
      s.codes.run(...c)
      s.ats.run(...a)
      s.rts.run(...r)
    })
    for (let from = 0; from < n; from += batch) insertBatch(from, Math.min(batch, n - from))
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
  }

  /** Rows in the token tables, for the report. */
  async counts(): Promise<Record<string, number>> {
    const db = new Database(this.#sqlitePath(), { readonly: true })
    try {
      const out: Record<string, number> = {}
      for (const table of ['grants', 'authorization_codes', 'access_tokens', 'refresh_tokens']) {
        out[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
      }
      return out
    } finally {
      db.close()
    }
  }

  #sqlitePath(): string {
    if (this.#dbPath === undefined) throw new TypeError('only an authcode on SQLite has a database file')
    return this.#dbPath
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map((child) => stopChild(child)))
    await this.#store.close()
  }
}
