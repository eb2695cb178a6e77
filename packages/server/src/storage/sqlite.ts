/**
 * The embedded backend: one SQLite file in WAL mode, through better-sqlite3 and kysely's
 * `SqliteDialect` (one connection; kysely queues queries and transactions on it).
 */
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely'
import type { Database } from './database.js'
import { openMigratedStore, type SqlStore } from './sql-store.js'

/**
 * Opens (creating it and its directory if needed) the SQLite file at `path`, without migrating:
 * for `authcode migrate`, which reports what `migrateToLatest` applied.
 *
 * @example
 * const db = await openSqliteDatabase('./data/authcode.db')
 */
export async function openSqliteDatabase(path: string): Promise<Kysely<Database>> {
  await mkdir(dirname(path), { recursive: true })
  const database = new SQLite(path)
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
    database.pragma('foreign_keys = ON')
    database.pragma('busy_timeout = 5000')
  } catch (error) {
    database.close()
    throw error
  }
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: preparingOnce(database) }) })
}

// Enough for every statement the store issues; the cap only bounds texts that vary (IN lists).
const STATEMENT_CACHE_SIZE = 500

/**
 * kysely prepares every query, and better-sqlite3 compiles SQL on every `prepare` (13% of a code
 * exchange's CPU in the benchmark's profile). The store's SQL is a small fixed set, so each text is
 * compiled once and its statement reused; better-sqlite3 runs one statement at a time, so reuse is safe.
 */
function preparingOnce(database: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>()
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql)
      if (statement === undefined) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear()
        statement = database.prepare(sql)
        statements.set(sql, statement)
      }
      return statement as unknown as SqliteStatement
    },
  }
}

/**
 * Opens the SQLite file at `path`, migrates it to the latest schema and returns the store.
 *
 * @example
 * const store = await openSqliteStore('./data/authcode.db')
 */
export async function openSqliteStore(path: string): Promise<SqlStore> {
  const { store } = await openMigratedStore(await openSqliteDatabase(path))
  return store
}
