/**
 * Sign-out ends what a browser started, and throttles reserve attempts (SECURITY.md 27, 30).
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `login_sessions.browser_hash`: the browser a session was started in, so signing out (or in as
 *   someone else) there ends every session of that browser.
 * - `interactions.session_hash`: the login session an authenticated interaction belongs to; the
 *   consent and the code need that session still alive.
 * - `rate_limits.next_at`: the earliest time of the next attempt (progressive delays, hard limits).
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('login_sessions').addColumn('browser_hash', 'text').execute()
  await db.schema.createIndex('login_sessions_browser_hash_idx').on('login_sessions').column('browser_hash').execute()
  await db.schema.alterTable('interactions').addColumn('session_hash', 'text').execute()
  await db.schema.createIndex('interactions_browser_hash_idx').on('interactions').column('browser_hash').execute()
  await db.schema.alterTable('rate_limits').addColumn('next_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rate_limits').dropColumn('next_at').execute()
  await db.schema.dropIndex('interactions_browser_hash_idx').execute()
  await db.schema.alterTable('interactions').dropColumn('session_hash').execute()
  await db.schema.dropIndex('login_sessions_browser_hash_idx').execute()
  await db.schema.alterTable('login_sessions').dropColumn('browser_hash').execute()
}
