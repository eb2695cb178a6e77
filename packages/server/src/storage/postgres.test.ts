/**
 * The shared store suite, unchanged, against PostgreSQL (`AUTHCODE_TEST_PG`, a database URL; CI
 * sets it). Each run works in a database of its own, created here and dropped afterwards, so the
 * shared `test` database is never touched.
 */
import { randomBytes } from 'node:crypto'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from './database.js'
import { migrateDown, migrateToLatest } from './migrate.js'
import { openPostgresDatabase } from './postgres.js'
import { PostgresStore } from './postgres-store.js'
import { storeSuite } from './store.suite.js'

const ADMIN_URL = process.env.AUTHCODE_TEST_PG

if (ADMIN_URL === undefined || ADMIN_URL === '') {
  describe('PostgreSQL store', () => {
    it.skip('skipped: set AUTHCODE_TEST_PG to a PostgreSQL URL (CI does) to run the store suite against PostgreSQL', () => {})
  })
} else {
  const name = `authcode_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const admin = () => openPostgresDatabase(ADMIN_URL, { poolSize: 1 })

  beforeAll(async () => {
    const db = admin()
    await sql`create database ${sql.id(name)}`.execute(db)
    await db.destroy()
    const test = openPostgresDatabase(url.href, { poolSize: 1 })
    await migrateToLatest(test)
    await test.destroy()
  })

  afterAll(async () => {
    const db = admin()
    await sql`drop database if exists ${sql.id(name)} with (force)`.execute(db)
    await db.destroy()
  })

  /** The store `openStore` makes for PostgreSQL, over the test database emptied: every test starts from nothing. */
  async function freshStore(): Promise<PostgresStore> {
    const db: Kysely<Database> = openPostgresDatabase(url.href, { poolSize: 4 })
    const tables = await sql<{ tablename: string }>`select tablename from pg_tables where schemaname = 'public' and tablename not like 'kysely_%'`.execute(db)
    await sql`truncate ${sql.join(tables.rows.map((t) => sql.id(t.tablename)))} cascade`.execute(db)
    return new PostgresStore(db)
  }

  storeSuite('postgres', freshStore)

  describe('postgres statements', () => {
    it('runs queries as prepared statements, prepared once per connection', async () => {
      const db = openPostgresDatabase(url.href, { poolSize: 1 })
      try {
        await db.connection().execute(async (conn) => {
          for (const id of ['a', 'b', 'c']) await conn.selectFrom('clients').select('client_id').where('client_id', '=', id).execute()
          const prepared = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(conn)
          const lookups = prepared.rows.filter((row) => row.statement.includes('from "clients"'))
          expect(lookups).toHaveLength(1)
        })
      } finally {
        await db.destroy()
      }
    })
  })

  describe('postgres migrations', () => {
    it('runs every migration down to empty and up again, under the advisory lock, twice at once', async () => {
      const a = openPostgresDatabase(url.href, { poolSize: 1 })
      const b = openPostgresDatabase(url.href, { poolSize: 1 })
      try {
        await migrateDown(a, 100)
        const left = await sql<{ n: number }>`select count(*)::int as n from pg_tables where schemaname = 'public' and tablename not like 'kysely_%'`.execute(a)
        expect(left.rows[0]?.n).toBe(0)
        // Two instances starting together: kysely's advisory lock lets exactly one apply each migration.
        const [first, second] = await Promise.all([migrateToLatest(a), migrateToLatest(b)])
        expect([...first.applied, ...second.applied]).toEqual(['0001_init', '0002_sessions_and_attempts', '0003_admin', '0004_standards', '0005_logout', '0006_web_origins', '0007_registration', '0008_resources', '0009_passkeys'])
      } finally {
        await a.destroy()
        await b.destroy()
      }
    })
  })
}
