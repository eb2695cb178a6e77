/**
 * A `TokenStore` over one SQLite table (better-sqlite3, WAL), shareable by several processes on one
 * machine. The refresh lock is a lease in the session's own row, taken with one conditional UPDATE,
 * so of two processes racing for it exactly one wins.
 *
 * Tokens are stored as given (not encrypted): protect the file like a secret.
 */
import type { Database } from 'better-sqlite3'
import type { SessionRecord, TokenStore } from '../tokens/store.js'

const TABLE = 'authcode_client_sessions'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  lock_owner TEXT,
  lock_until INTEGER
) STRICT`

export class SqliteTokenStore implements TokenStore {
  readonly #db: Database
  readonly #get
  readonly #set
  readonly #delete
  readonly #acquire
  readonly #release

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
    if (typeof db !== 'object' || db === null || typeof (db as { prepare?: unknown }).prepare !== 'function') {
      throw new TypeError('SqliteTokenStore needs a better-sqlite3 Database')
    }
    this.#db = db
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    db.exec(SCHEMA)
    this.#get = db.prepare<[string], { record: string }>(`SELECT record FROM ${TABLE} WHERE id = ?`)
    this.#set = db.prepare<[string, string, number]>(
      `INSERT INTO ${TABLE} (id, record, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`,
    )
    this.#delete = db.prepare<[string]>(`DELETE FROM ${TABLE} WHERE id = ?`)
    this.#acquire = db.prepare<[string, number, string, string, number]>(
      `UPDATE ${TABLE} SET lock_owner = ?, lock_until = ?
       WHERE id = ? AND (lock_owner IS NULL OR lock_owner = ? OR lock_until <= ?)`,
    )
    this.#release = db.prepare<[string, string]>(`UPDATE ${TABLE} SET lock_owner = NULL, lock_until = NULL WHERE id = ? AND lock_owner = ?`)
  }

  /** Opens (or creates) the database file; loads better-sqlite3 only when called. */
  static async open(filename: string): Promise<SqliteTokenStore> {
    if (typeof filename !== 'string' || filename === '') throw new TypeError('filename must be a non-empty string')
    const { default: BetterSqlite3 } = await import('better-sqlite3')
    return new SqliteTokenStore(new BetterSqlite3(filename))
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    const row = this.#get.get(key)
    return row === undefined ? undefined : (JSON.parse(row.record) as SessionRecord)
  }

  async set(key: string, record: SessionRecord): Promise<void> {
    this.#set.run(key, JSON.stringify(record), record.updatedAt)
  }

  async delete(key: string): Promise<void> {
    this.#delete.run(key)
  }

  async acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean> {
    return this.#acquire.run(owner, until, key, owner, now).changes === 1
  }

  async releaseRefreshLock(key: string, owner: string): Promise<void> {
    this.#release.run(key, owner)
  }

  /** Closes the connection. */
  close(): void {
    this.#db.close()
  }
}
