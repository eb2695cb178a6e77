/**
 * A throw-away PostgreSQL database for one benchmark run (`AUTHCODE_TEST_PG` names the server):
 * `authcode_bench_<random>` is created on start and dropped at the end; no other database is touched.
 */
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'

export interface BenchDatabase {
  /** The new database's URL (the admin URL with its path replaced). */
  readonly url: string
  readonly name: string
  drop(): Promise<void>
}

/** Runs one statement on the server of `adminUrl` over a connection of its own. */
async function run(adminUrl: string, statement: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(statement)
  } finally {
    await sql.end()
  }
}

/** Creates `authcode_bench_<12 hex>` on the server of `adminUrl` (any database there to connect to). */
export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `authcode_bench_${randomBytes(6).toString('hex')}`
  // The name is ours and only [a-z0-9_]: safe to quote into the statement (identifiers cannot be bound).
  await run(adminUrl, `CREATE DATABASE "${name}"`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    name,
    // WITH (FORCE), PostgreSQL 13+: ends connections a killed server may have left behind.
    drop: () => run(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  }
}
