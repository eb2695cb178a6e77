/**
 * Opens the store named by `--db` / `AUTHCODE_DB`: `sqlite:PATH`, a bare path ending in `.db`,
 * `.sqlite` or `.sqlite3`, or `postgres://…` / `postgresql://…` (read by `location.ts`).
 */
import type { Kysely } from 'kysely'
import type { Store } from '../protocol/store.js'
import type { Database } from './database.js'
import { DEFAULT_POOL_SIZE, parseDatabaseUrl } from './location.js'
import { openMigratedStore } from './sql-store.js'
import { openPostgresDatabase } from './postgres.js'
import { PostgresStore } from './postgres-store.js'
import { openMigratedSqliteStore, openSqliteDatabase } from './sqlite.js'

export { parseDatabaseUrl, type DatabaseLocation } from './location.js'

/**
 * Opens the database at `db` without migrating (for `authcode migrate`).
 */
export async function openDatabase(db: string, options: OpenOptions = {}): Promise<Kysely<Database>> {
  const location = parseDatabaseUrl(db)
  if (location.dialect === 'postgres') return openPostgresDatabase(location.url, { poolSize: options.poolSize ?? DEFAULT_POOL_SIZE })
  return openSqliteDatabase(location.path)
}

export interface OpenOptions {
  /** PostgreSQL: most pooled connections (default `DEFAULT_POOL_SIZE`). */
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
  return openMigratedStore(await openPostgresDatabase(location.url, { poolSize: options.poolSize ?? DEFAULT_POOL_SIZE }), (db) => new PostgresStore(db))
}
