/**
 * Administration over a user's, a client's and a key's whole life (issue #20).
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `users.disabled_at`: a disabled user signs in nowhere and holds no live token.
 * - `clients.post_logout_redirect_uris` (a JSON list, empty by default), and the secret a rotation
 *   replaced with when it stops working (`previous_secret_hash`, `previous_secret_expires_at`).
 * - `signing_keys.retired_at`: a key an administrator took out of signing.
 * - `admin_tokens`: the bearer tokens of the admin API, hashed; a name is unique among live ones.
 */
import type { Kysely } from 'kysely'
import { sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('disabled_at', 'bigint').execute()
  await db.schema.alterTable('clients').addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]')).execute()
  await db.schema.alterTable('clients').addColumn('previous_secret_hash', 'text').execute()
  await db.schema.alterTable('clients').addColumn('previous_secret_expires_at', 'bigint').execute()
  await db.schema.alterTable('signing_keys').addColumn('retired_at', 'bigint').execute()

  await db.schema
    .createTable('admin_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addUniqueConstraint('admin_tokens_token_hash_key', ['token_hash'])
    .execute()
  await db.schema
    .createIndex('admin_tokens_live_name_idx')
    .on('admin_tokens')
    .column('name')
    .unique()
    .where(sql.ref('revoked_at'), 'is', null)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('admin_tokens').execute()
  await db.schema.alterTable('signing_keys').dropColumn('retired_at').execute()
  await db.schema.alterTable('clients').dropColumn('previous_secret_expires_at').execute()
  await db.schema.alterTable('clients').dropColumn('previous_secret_hash').execute()
  await db.schema.alterTable('clients').dropColumn('post_logout_redirect_uris').execute()
  await db.schema.alterTable('users').dropColumn('disabled_at').execute()
}
