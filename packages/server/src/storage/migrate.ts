/**
 * Runs the schema migrations with kysely's `Migrator`, which takes the dialect's migration lock so
 * two instances starting together never migrate at once.
 */
import { Migrator, NO_MIGRATIONS, type Kysely, type MigrationResultSet } from 'kysely'
import type { Database } from './database.js'
import { migrationProvider } from './migrations/index.js'

/**
 * Applies every pending migration.
 *
 * @returns the names of the migrations it applied, in order (empty when already up to date).
 * @throws Error naming the migration that failed; the database is left at the last one that
 *   succeeded (on SQLite and PostgreSQL the failed one is rolled back).
 * @example
 * const { applied } = await migrateToLatest(db)
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<{ applied: string[] }> {
  return { applied: succeeded(await migrator(db).migrateToLatest()) }
}

/**
 * Reverts the last `steps` applied migrations (all of them when `steps` exceeds their number).
 *
 * @returns the names of the migrations it reverted, most recent first.
 * @example
 * const { reverted } = await migrateDown(db, 1)
 */
export async function migrateDown(db: Kysely<Database>, steps: number): Promise<{ reverted: string[] }> {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new TypeError('steps must be a positive integer')
  }
  const runner = migrator(db)
  const applied = (await runner.getMigrations()).filter((migration) => migration.executedAt !== undefined)
  const target = applied[applied.length - steps - 1]
  return { reverted: succeeded(await runner.migrateTo(target?.name ?? NO_MIGRATIONS)) }
}

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider: migrationProvider })
}

function succeeded({ error, results = [] }: MigrationResultSet): string[] {
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')
    const what = failed === undefined ? 'migrations' : `migration ${failed.migrationName} (${failed.direction})`
    throw new Error(`${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  return results.map((result) => result.migrationName)
}
