/**
 * The backend for several server instances: PostgreSQL through postgres.js (`postgres`) under a
 * kysely driver of our own. postgres.js prepares every parameterised statement once per
 * connection and pipelines queries on its connections, which on the token endpoint's hot path
 * costs the server about a third less CPU than `pg` (issue #15, `bench/README.md`). Migrations
 * take kysely's advisory lock, so instances starting together apply each migration once.
 */
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely'
import postgres from 'postgres'
import type { Database } from './database.js'

/** A postgres.js instance: its pool of connections. */
type Sql = postgres.Sql
/** A connection taken out of the pool for one transaction. */
type ReservedSql = postgres.ReservedSql

export interface PostgresOptions {
  /** Most connections the pool opens. */
  poolSize: number
}

/** Seconds to connect, a query's longest run, and how long a connection stays idle before it closes. */
const CONNECT_TIMEOUT = 5
const QUERY_TIMEOUT = 10
const IDLE_TIMEOUT = 30
/** Longest wait in seconds between two attempts to reconnect, so a database that returns is used within it. */
const MAX_RECONNECT_WAIT = 1

/** Seconds before the next attempt to connect after `retries` failed ones: doubling from 50 ms, jittered, at most {@link MAX_RECONNECT_WAIT}. */
function reconnectWait(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, MAX_RECONNECT_WAIT)
}

/**
 * A pool to the database at `url`; the first query connects. A connection that breaks fails the
 * queries sent on it and is replaced on demand, so the store recovers by itself when the database
 * returns.
 */
export function openPostgresDatabase(url: string, options: PostgresOptions): Kysely<Database> {
  const sql = postgres(url, {
    max: options.poolSize,
    connect_timeout: CONNECT_TIMEOUT,
    // A query that hangs (database unreachable mid-request) fails instead of holding the request.
    query_timeout: QUERY_TIMEOUT,
    idle_timeout: IDLE_TIMEOUT,
    // postgres.js waits up to 20 s between attempts by default: minutes of 503s after a short outage.
    backoff: reconnectWait,
    connection: { application_name: 'authcode' },
    // Notices (a migration's "relation already exists, skipping") are not the server's log.
    onnotice: () => {},
  })
  const dialect: Dialect = {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new PostgresJsDriver(sql),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  }
  return new Kysely<Database>({ dialect })
}

/** Statements worth preparing: the store's small fixed set. Transaction control and DDL run unprepared. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i

/** The command tags whose row count kysely reports as affected rows. */
const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE'])

/**
 * kysely's connection over the pool: a statement outside a transaction goes to whichever pooled
 * connection is free (postgres.js pipelines it), so acquiring one costs nothing; a transaction
 * reserves a connection of its own from BEGIN to COMMIT or ROLLBACK.
 */
class PostgresJsConnection implements DatabaseConnection {
  reserved: ReservedSql | undefined

  constructor(readonly sql: Sql) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const target = this.reserved ?? this.sql
    const parameters = compiled.parameters as postgres.ParameterOrJSON<never>[]
    const result = await target.unsafe<R[]>(compiled.sql, parameters, { prepare: parameters.length > 0 && PREPARABLE.test(compiled.sql) })
    return { rows: result, numAffectedRows: AFFECTING.has(result.command) ? BigInt(result.count) : undefined }
  }

  /** kysely's interface asks for it; the store never streams. */
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the PostgreSQL store does not stream query results')
  }
}

class PostgresJsDriver implements Driver {
  constructor(readonly sql: Sql) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresJsConnection(this.sql)
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const own = connection as PostgresJsConnection
    own.reserved = await this.sql.reserve()
    let begin = 'begin'
    if (settings.isolationLevel !== undefined) begin += ` isolation level ${settings.isolationLevel}`
    if (settings.accessMode !== undefined) begin += ` ${settings.accessMode}`
    await own.executeQuery(CompiledQuery.raw(begin))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const own = connection as PostgresJsConnection
    own.reserved?.release()
    own.reserved = undefined
  }

  async destroy(): Promise<void> {
    await this.sql.end({ timeout: 5 })
  }
}
