/**
 * Passkeys (issue #18): WebAuthn credentials to sign in with, and how a sign-in was made.
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `passkeys`: one row per credential (its id, base64url), the user it signs in (gone with the
 *   user), its COSE public key (base64url), its signature counter, transports (JSON), the name the
 *   user gave it, when it was added and last used, and what the authenticator says of it: its
 *   device type (`singleDevice` or `multiDevice`) and whether it is backed up.
 * - `login_sessions.amr`, `grants.amr`: the authentication methods (RFC 8176, JSON) of the sign-in
 *   that started the session, carried to the grants made in it and so to their ID tokens; null for
 *   sessions and grants from before this migration.
 * Challenges are not stored: each is signed by the server and spent once in `used_jtis`.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('passkeys')
    .addColumn('credential_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('device_type', 'text', (c) => c.notNull())
    .addColumn('backed_up', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute()
  await db.schema.createIndex('passkeys_user_id_idx').on('passkeys').column('user_id').execute()
  await db.schema.alterTable('login_sessions').addColumn('amr', 'text').execute()
  await db.schema.alterTable('grants').addColumn('amr', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('amr').execute()
  await db.schema.alterTable('login_sessions').dropColumn('amr').execute()
  await db.schema.dropTable('passkeys').execute()
}
