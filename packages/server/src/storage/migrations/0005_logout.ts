/**
 * Logout that reaches every app (issue #14): OpenID RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `login_sessions.sid`: the session's public id, the `sid` of the ID tokens issued in it (null
 *   for sessions started before this migration).
 * - `grants.sid`: the session the user authorized in, so a sign-out knows which clients the session
 *   signed in to.
 * - `clients.backchannel_logout_uri`: where logout tokens are POSTed; null when none.
 * - `logout_deliveries`: the queue of logout tokens to deliver, one per ended session and client,
 *   with its attempts and when the next one is due (a claim pushes it out by a lease, so one
 *   instance delivers each).
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('login_sessions').addColumn('sid', 'text').execute()
  await db.schema.alterTable('grants').addColumn('sid', 'text').execute()
  await db.schema.createIndex('grants_sid_idx').on('grants').column('sid').execute()
  await db.schema.alterTable('clients').addColumn('backchannel_logout_uri', 'text').execute()

  await db.schema
    .createTable('logout_deliveries')
    .addColumn('sid', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('logout_deliveries_pkey', ['sid', 'client_id'])
    .execute()
  await db.schema.createIndex('logout_deliveries_next_attempt_at_idx').on('logout_deliveries').column('next_attempt_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('logout_deliveries').execute()
  await db.schema.alterTable('clients').dropColumn('backchannel_logout_uri').execute()
  await db.schema.dropIndex('grants_sid_idx').execute()
  await db.schema.alterTable('grants').dropColumn('sid').execute()
  await db.schema.alterTable('login_sessions').dropColumn('sid').execute()
}
