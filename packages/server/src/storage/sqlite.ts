/**
 * The embedded backend: one SQLite file in WAL mode, through better-sqlite3 and kysely's
 * `SqliteDialect` (one connection; kysely queues queries and transactions on it).
 */
import { mkdir, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, type Driver, type SqliteDatabase, type SqliteStatement } from 'kysely'
import type { Database } from './database.js'
import { checkpointInBackground, type Checkpointer } from './sqlite-checkpoint.js'
import { openMigratedStore } from './sql-store.js'
import { SqliteStore, type SqliteConnection } from './sqlite-store.js'

/**
 * Opens (creating it and its directory if needed) the SQLite file at `path`, without migrating:
 * for `authcode migrate`, which reports what `migrateToLatest` applied.
 *
 * @example
 * const db = await openSqliteDatabase('./data/authcode.db')
 */
export async function openSqliteDatabase(path: string): Promise<Kysely<Database>> {
  return (await openSqliteConnection(path)).db
}

/** SQLite page cache of the serving connection, KiB. */
const PAGE_CACHE_KIB = 64 * 1024

/** How long a statement waits for a lock another connection (a CLI command, the checkpoint worker) holds. */
const BUSY_TIMEOUT_MS = 5000

/**
 * Creates the folders (0700) and the database file (0600, empty: SQLite takes an empty file for an
 * empty database) when missing, so that only the server's user reads the password and secret
 * hashes, whatever the umask (SECURITY 32). SQLite creates -wal and -shm with the mode of
 * the database file, so they are private too. Existing paths keep their mode: `authcode serve`
 * warns about loose ones.
 */
async function createPrivately(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    await (await open(path, 'wx', 0o600)).close()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
}

/** The file opened, tuned and wrapped in kysely; `connection` is the same connection, for `SqliteStore`. */
export async function openSqliteConnection(path: string): Promise<{ db: Kysely<Database>; connection: SqliteConnection }> {
  await createPrivately(path)
  const database = new SQLite(path)
  try {
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
    // 64 MiB of page cache (SQLite's default is 2 MiB): codes, refresh tokens and sessions are
    // looked up and inserted by random hashes, so with a million rows nearly every index page an
    // exchange touches would otherwise be read back from the OS with a syscall.
    database.pragma(`cache_size = ${-PAGE_CACHE_KIB}`)
    database.pragma('foreign_keys = ON')
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  } catch (error) {
    database.close()
    throw error
  }
  const dialect = new EmbeddedSqliteDialect(database, path)
  const db = new Kysely<Database>({ dialect })
  return { db, connection: { database, exclusive: (step) => dialect.exclusive(step), busyTimeoutMs: BUSY_TIMEOUT_MS } }
}

/**
 * kysely's SQLite dialect, plus: `destroy()` also waits for the checkpoint worker's last checkpoint,
 * and `exclusive()` lets code outside kysely use the connection under the driver's own lock.
 */
class EmbeddedSqliteDialect extends SqliteDialect {
  readonly #database: SQLite.Database
  readonly #path: string
  #driver: Driver | undefined
  #checkpointer: Checkpointer | undefined

  constructor(database: SQLite.Database, path: string) {
    super({ database: preparingOnce(database) })
    this.#database = database
    this.#path = path
  }

  // kysely initializes the driver on the first query and destroys it only if it was initialized:
  // the checkpoint worker lives exactly as long.
  override createDriver(): Driver {
    const driver = super.createDriver()
    const init = driver.init.bind(driver)
    const destroy = driver.destroy.bind(driver)
    driver.init = async () => {
      await init()
      this.#checkpointer = checkpointInBackground(this.#database, this.#path)
    }
    driver.destroy = async () => {
      await destroy()
      await this.#checkpointer?.stop()
    }
    this.#driver = driver
    return driver
  }

  /** Runs `step` holding the one connection, as kysely does for a query or a whole transaction. */
  async exclusive<T>(step: () => T): Promise<T> {
    if (this.#driver === undefined) throw new Error('the kysely instance over this dialect was not created')
    const connection = await this.#driver.acquireConnection()
    try {
      return step()
    } finally {
      await this.#driver.releaseConnection(connection)
    }
  }
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
 * Opens the SQLite file at `path` (creating it if needed), migrates it to the latest schema and
 * returns the store with the names of the migrations it applied.
 *
 * @example
 * const { store } = await openMigratedSqliteStore('./data/authcode.db')
 */
export async function openMigratedSqliteStore(path: string): Promise<{ store: SqliteStore; migrated: string[] }> {
  const { db, connection } = await openSqliteConnection(path)
  return openMigratedStore(db, (migratedDb) => new SqliteStore(migratedDb, connection))
}

/**
 * Opens the SQLite file at `path`, migrates it to the latest schema and returns the store.
 *
 * @example
 * const store = await openSqliteStore('./data/authcode.db')
 */
export async function openSqliteStore(path: string): Promise<SqliteStore> {
  return (await openMigratedSqliteStore(path)).store
}
