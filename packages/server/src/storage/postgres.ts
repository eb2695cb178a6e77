/**
 * The backend for several server instances: PostgreSQL through `pg` and kysely's
 * `PostgresDialect`, with a connection pool and named prepared statements. Migrations take kysely's advisory lock, so instances
 * starting together apply each migration once.
 */
import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely'
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
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparing(pool) }) })
}

/**
 * Named prepared statements: each distinct SQL text gets a stable name, so PostgreSQL parses and
 * plans it once per connection and every later execution sends only the parameters. The store's
 * statements are a small fixed set, which bounds what each connection keeps prepared.
 */
function preparing(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>()
  const nameOf = (text: string): string => {
    let name = names.get(text)
    if (name === undefined) {
      name = `authcode_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
      names.set(text, name)
    }
    return name
  }
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect()
      const query = async <R>(text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> => {
        // Transaction control and DDL (migrations) run unnamed: nothing to reuse there.
        if (!/^\s*(select|insert|update|delete|with)\b/i.test(text)) return client.query(text, [...values]) as unknown as PostgresQueryResult<R>
        return client.query({ name: nameOf(text), text, values: [...values] }) as unknown as PostgresQueryResult<R>
      }
      return { query, release: () => client.release() } as PostgresPoolClient
    },
    end: () => pool.end(),
  }
}
