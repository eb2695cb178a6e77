/**
 * Opens the store named by `--db` / `AUTHCODE_DB`: `sqlite:PATH`, a bare path ending in `.db`,
 * `.sqlite` or `.sqlite3`, or `postgres://…` / `postgresql://…`.
 */
import type { Kysely } from 'kysely'
import type { Store } from '../protocol/store.js'
import type { Database } from './database.js'
import { openMigratedStore } from './sql-store.js'
import { openPostgresDatabase } from './postgres.js'
import { openMigratedSqliteStore, openSqliteDatabase } from './sqlite.js'

export type DatabaseLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string }

const ACCEPTED = 'expected sqlite:PATH, a file path ending in .db, .sqlite or .sqlite3, or postgres://…'

/**
 * Reads a database location. Never echoes `db` in an error: a URL may carry a password.
 *
 * @throws TypeError when `db` is none of the accepted forms.
 * @example
 * parseDatabaseUrl('sqlite:./data/authcode.db') // { dialect: 'sqlite', path: './data/authcode.db' }
 */
export function parseDatabaseUrl(db: string): DatabaseLocation {
  if (db.startsWith('sqlite:') && !db.startsWith('sqlite://') && db.length > 'sqlite:'.length) {
    return { dialect: 'sqlite', path: db.slice('sqlite:'.length) }
  }
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) {
    return { dialect: 'postgres', url: db }
  }
  if (/\.(db|sqlite|sqlite3)$/.test(db) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    return { dialect: 'sqlite', path: db }
  }
  throw new TypeError(`unsupported database location: ${ACCEPTED}`)
}

/**
 * Opens the database at `db` without migrating (for `authcode migrate`).
 */
export async function openDatabase(db: string, options: OpenOptions = {}): Promise<Kysely<Database>> {
  const location = parseDatabaseUrl(db)
  if (location.dialect === 'postgres') return openPostgresDatabase(location.url, { poolSize: options.poolSize ?? DEFAULT_POOL_SIZE })
  return openSqliteDatabase(location.path)
}

const DEFAULT_POOL_SIZE = 10

export interface OpenOptions {
  /** PostgreSQL: most pooled connections (default 10). */
  poolSize?: number
}

/**
 * Opens the database at `db`, migrates it to the latest schema and returns the store with the
 * names of the migrations it applied.
 *
 * @example
 * const { store, migrated } = await openStore(config.db)
 */
export async function openStore(db: string, options: OpenOptions = {}): Promise<{ store: Store; migrated: string[] }> {
  const location = parseDatabaseUrl(db)
  if (location.dialect === 'sqlite') return openMigratedSqliteStore(location.path)
  return openMigratedStore(await openPostgresDatabase(location.url, { poolSize: options.poolSize ?? DEFAULT_POOL_SIZE }))
}
