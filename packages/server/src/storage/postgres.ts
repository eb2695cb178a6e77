/**
 * The backend for several server instances: PostgreSQL through `pg` and kysely's
 * `PostgresDialect`, with a connection pool. Migrations take kysely's advisory lock, so instances
 * starting together apply each migration once.
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './database.js'

export interface PostgresOptions {
  /** Most connections the pool opens. */
  poolSize: number
}

/**
 * A pool to the database at `url`; the first query connects. A broken idle connection is dropped
 * by the pool and replaced on demand, so the store recovers by itself when the database returns.
 */
export function openPostgresDatabase(url: string, options: PostgresOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A query that hangs (database unreachable mid-request) fails instead of holding the request.
    query_timeout: 10_000,
    application_name: 'authcode',
  })
  // Without a listener an idle client's error (server restart) would crash the process; the pool
  // already discards that client, and the next query reports whatever is still wrong.
  pool.on('error', () => {})
  // The pool listens only while a client is idle: a connection lost while a client is checked out
  // (between the statements of a transaction) would emit an unhandled 'error' and crash the
  // process. The failing query already rejects, and the pool drops the client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}
