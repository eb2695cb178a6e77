/**
 * `@authcode/client/sqlite`: stores over SQLite tables (better-sqlite3, WAL), shareable by several
 * processes on one machine: `SqliteTokenStore` for sessions, `SqliteLoginStateStore` for login
 * attempts (both may use one database). The refresh lock is a lease in the session's own row, taken
 * with one conditional UPDATE, so of two processes racing for it exactly one wins; a login attempt
 * is taken with one DELETE … RETURNING, so it is used once. Expired rows go at the next write.
 *
 * better-sqlite3 is an optional peer dependency: install it (and `@types/better-sqlite3` for
 * TypeScript) to use this module. Tokens and PKCE verifiers are stored as given (not encrypted):
 * protect the file like a secret.
 */
import type { Database } from 'better-sqlite3'
import { StoreError } from '../errors.js'
import { loginLimits, type LoginState, type LoginStateLimits, type LoginStateStore } from '../login/state-store.js'
import type { BackchannelLogout, SessionRecord, TokenStore } from '../tokens/store.js'

const TABLE = 'authcode_client_sessions'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  lock_owner TEXT,
  lock_until INTEGER,
  expires_at INTEGER
) STRICT`

/** Tables made by 0.1 have no expires_at: added (NULL, kept until deleted) before the index on it. */
const SESSION_EXPIRY = `CREATE INDEX IF NOT EXISTS ${TABLE}_expires ON ${TABLE} (expires_at) WHERE expires_at IS NOT NULL`

const LOGOUT_TABLE = 'authcode_client_logout_jtis'

/**
 * Back-channel logout: the sessions of a login session at the server are found by their ID
 * token's `sid` (an index on the JSON), and each logout token's issuer and `jti` is kept until it
 * expires, so that a replay is refused.
 */
const LOGOUT_SCHEMA = `
CREATE INDEX IF NOT EXISTS ${TABLE}_sid ON ${TABLE} (json_extract(record, '$.claims.sid'));
CREATE TABLE IF NOT EXISTS ${LOGOUT_TABLE} (
  id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS ${LOGOUT_TABLE}_expires ON ${LOGOUT_TABLE} (expires_at)`

const LOGIN_TABLE = 'authcode_client_logins'

// Oldest first is (created_at, rowid): rowids grow with each insert.
const LOGIN_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${LOGIN_TABLE} (
  id TEXT PRIMARY KEY,
  caller TEXT,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS ${LOGIN_TABLE}_caller ON ${LOGIN_TABLE} (caller, created_at) WHERE caller IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${LOGIN_TABLE}_created ON ${LOGIN_TABLE} (created_at);
CREATE INDEX IF NOT EXISTS ${LOGIN_TABLE}_expires ON ${LOGIN_TABLE} (expires_at)`

/** Checks the connection, sets WAL and a busy timeout (other processes write too), creates the tables. */
function prepareDatabase(name: string, db: Database, schema: string): void {
  if (typeof db !== 'object' || db === null || typeof (db as { prepare?: unknown }).prepare !== 'function') {
    throw new TypeError(`${name} needs a better-sqlite3 Database`)
  }
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 5000')
  db.exec(schema)
}

/**
 * Runs one store operation; a driver failure (a locked or unwritable file, a closed connection)
 * becomes a `StoreError` naming the store and the operation.
 */
function guarded<T>(store: string, operation: string, run: () => T): T {
  try {
    return run()
  } catch (error) {
    throw new StoreError(`${store}: ${operation} failed`, error)
  }
}

/** Opens (or creates) a database file; loads better-sqlite3 only when called. */
async function openDatabase(filename: string): Promise<Database> {
  if (typeof filename !== 'string' || filename === '') throw new TypeError('filename must be a non-empty string')
  let BetterSqlite3: typeof import('better-sqlite3')
  try {
    ;({ default: BetterSqlite3 } = await import('better-sqlite3'))
  } catch (error) {
    // An optional peer dependency: say what to install rather than a bare module-not-found.
    throw new Error('@authcode/client/sqlite needs better-sqlite3: npm install better-sqlite3', { cause: error })
  }
  return new BetterSqlite3(filename)
}

export class SqliteTokenStore implements TokenStore {
  readonly #db: Database
  readonly #get
  readonly #set: (key: string, record: SessionRecord) => void
  readonly #delete
  readonly #acquire
  readonly #release
  readonly #endSessions: (logout: BackchannelLogout, now: number) => number | 'replayed'

  /**
   * Uses an open better-sqlite3 database (the table is created when missing). The caller keeps
   * ownership of the connection.
   *
   * @example
   * ```ts
   * import Database from 'better-sqlite3'
   * const store = new SqliteTokenStore(new Database('./data/sessions.db'))
   * ```
   */
  constructor(db: Database) {
    prepareDatabase('SqliteTokenStore', db, SCHEMA)
    const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${TABLE}')`).all()
    if (!columns.some((column) => column.name === 'expires_at')) db.exec(`ALTER TABLE ${TABLE} ADD COLUMN expires_at INTEGER`)
    db.exec(SESSION_EXPIRY)
    this.#db = db
    this.#get = db.prepare<[string, number], { record: string }>(`SELECT record FROM ${TABLE} WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)`)
    const purge = db.prepare<[number]>(`DELETE FROM ${TABLE} WHERE expires_at <= ?`)
    // The lock columns are left as they are: a refresh stores its result while it holds the lock.
    const upsert = db.prepare<[string, string, number, number | null]>(
      `INSERT INTO ${TABLE} (id, record, updated_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
    )
    const set = db.transaction((key: string, record: SessionRecord) => {
      purge.run(record.updatedAt)
      upsert.run(key, JSON.stringify(record), record.updatedAt, record.expiresAt ?? null)
    })
    this.#set = (key, record) => set.immediate(key, record)
    this.#delete = db.prepare<[string]>(`DELETE FROM ${TABLE} WHERE id = ?`)
    this.#acquire = db.prepare<[string, number, string, number, string, number]>(
      `UPDATE ${TABLE} SET lock_owner = ?, lock_until = ?
       WHERE id = ? AND (expires_at IS NULL OR expires_at > ?) AND (lock_owner IS NULL OR lock_owner = ? OR lock_until <= ?)`,
    )
    this.#release = db.prepare<[string, string]>(`UPDATE ${TABLE} SET lock_owner = NULL, lock_until = NULL WHERE id = ? AND lock_owner = ?`)
    db.exec(LOGOUT_SCHEMA)
    const purgeJtis = db.prepare<[number]>(`DELETE FROM ${LOGOUT_TABLE} WHERE expires_at <= ?`)
    const useJti = db.prepare<[string, number]>(`INSERT OR IGNORE INTO ${LOGOUT_TABLE} (id, expires_at) VALUES (?, ?)`)
    const claim = (name: string) => `json_extract(record, '$.claims.${name}')`
    const bySid = db.prepare<[string, string, string | null, string | null]>(
      `DELETE FROM ${TABLE} WHERE ${claim('sid')} = ? AND ${claim('iss')} = ? AND (? IS NULL OR ${claim('sub')} = ?)`,
    )
    const bySub = db.prepare<[string, string]>(`DELETE FROM ${TABLE} WHERE ${claim('sub')} = ? AND ${claim('iss')} = ?`)
    const endSessions = db.transaction((logout: BackchannelLogout, now: number): number | 'replayed' => {
      purgeJtis.run(now)
      if (useJti.run(`${logout.iss}\0${logout.jti}`, logout.expiresAt).changes === 0) return 'replayed'
      if (logout.sid !== undefined) return bySid.run(logout.sid, logout.iss, logout.sub ?? null, logout.sub ?? null).changes
      return logout.sub === undefined ? 0 : bySub.run(logout.sub, logout.iss).changes
    })
    this.#endSessions = (logout, now) => endSessions.immediate(logout, now)
  }

  /** Opens (or creates) the database file; loads better-sqlite3 only when called. */
  static async open(filename: string): Promise<SqliteTokenStore> {
    return new SqliteTokenStore(await openDatabase(filename))
  }

  async get(key: string, now: number): Promise<SessionRecord | undefined> {
    const row = guarded('SqliteTokenStore', 'get', () => this.#get.get(key, now))
    return row === undefined ? undefined : (JSON.parse(row.record) as SessionRecord)
  }

  async set(key: string, record: SessionRecord): Promise<void> {
    guarded('SqliteTokenStore', 'set', () => this.#set(key, record))
  }

  async delete(key: string): Promise<void> {
    guarded('SqliteTokenStore', 'delete', () => this.#delete.run(key))
  }

  async acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean> {
    return guarded('SqliteTokenStore', 'acquireRefreshLock', () => this.#acquire.run(owner, until, key, now, owner, now).changes === 1)
  }

  async releaseRefreshLock(key: string, owner: string): Promise<void> {
    guarded('SqliteTokenStore', 'releaseRefreshLock', () => this.#release.run(key, owner))
  }

  /** One transaction: the `jti` recorded (or found: a replay), then the matching sessions deleted. */
  async endSessions(logout: BackchannelLogout, now: number): Promise<number | 'replayed'> {
    return guarded('SqliteTokenStore', 'endSessions', () => this.#endSessions(logout, now))
  }

  /** Closes the connection. */
  close(): void {
    this.#db.close()
  }
}

/**
 * Login attempts in one SQLite table, bounded like `MemoryLoginStateStore` (see
 * `LoginStateLimits`): each save drops, in one transaction, the expired attempts, then the caller's
 * oldest past `maxPerCaller`, then the oldest of all past `maxEntries`.
 */
export class SqliteLoginStateStore implements LoginStateStore {
  readonly #db: Database
  readonly #save: (loginId: string, state: LoginState) => void
  readonly #take

  /**
   * Uses an open better-sqlite3 database (the table is created when missing); it may be the one a
   * `SqliteTokenStore` uses. The caller keeps ownership of the connection.
   *
   * @example
   * ```ts
   * import Database from 'better-sqlite3'
   * const db = new Database('./data/sessions.db')
   * const client = new OAuthClient({ …, loginStateStore: new SqliteLoginStateStore(db), tokenStore: new SqliteTokenStore(db) })
   * ```
   */
  constructor(db: Database, options: LoginStateLimits = {}) {
    prepareDatabase('SqliteLoginStateStore', db, LOGIN_SCHEMA)
    const { maxEntries, maxPerCaller } = loginLimits(options)
    this.#db = db
    const purge = db.prepare<[number]>(`DELETE FROM ${LOGIN_TABLE} WHERE expires_at <= ?`)
    const trimCaller = db.prepare<[string, number]>(
      `DELETE FROM ${LOGIN_TABLE} WHERE rowid IN (
         SELECT rowid FROM ${LOGIN_TABLE} WHERE caller = ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
    )
    const trimAll = db.prepare<[number]>(
      `DELETE FROM ${LOGIN_TABLE} WHERE rowid IN (
         SELECT rowid FROM ${LOGIN_TABLE} ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
    )
    const insert = db.prepare<[string, string | null, string, number, number]>(
      `INSERT OR REPLACE INTO ${LOGIN_TABLE} (id, caller, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
    )
    const save = db.transaction((loginId: string, state: LoginState) => {
      purge.run(state.createdAt)
      // Room for the new attempt: keep the newest maxPerCaller - 1 of its caller, maxEntries - 1 in all.
      if (state.caller !== undefined) trimCaller.run(state.caller, maxPerCaller - 1)
      trimAll.run(maxEntries - 1)
      insert.run(loginId, state.caller ?? null, JSON.stringify(state), state.createdAt, state.expiresAt)
    })
    // IMMEDIATE: the write lock from the start, so two processes' saves never deadlock on an upgrade.
    this.#save = (loginId, state) => save.immediate(loginId, state)
    this.#take = db.prepare<[string], { state: string; expires_at: number }>(`DELETE FROM ${LOGIN_TABLE} WHERE id = ? RETURNING state, expires_at`)
  }

  /** Opens (or creates) the database file; loads better-sqlite3 only when called. */
  static async open(filename: string, options: LoginStateLimits = {}): Promise<SqliteLoginStateStore> {
    return new SqliteLoginStateStore(await openDatabase(filename), options)
  }

  async save(loginId: string, state: LoginState): Promise<void> {
    guarded('SqliteLoginStateStore', 'save', () => this.#save(loginId, state))
  }

  async take(loginId: string, now: number): Promise<LoginState | undefined> {
    const row = guarded('SqliteLoginStateStore', 'take', () => this.#take.get(loginId))
    return row === undefined || row.expires_at <= now ? undefined : (JSON.parse(row.state) as LoginState)
  }

  /** Closes the connection. */
  close(): void {
    this.#db.close()
  }
}
