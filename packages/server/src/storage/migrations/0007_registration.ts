/**
 * Dynamic client registration (issue #21): RFC 7591 and RFC 7592.
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `clients.registered_dynamically`: 1 for a client that registered itself at the registration
 *   endpoint (not vouched for by the operator), 0 for the operator's.
 * - `clients.registration_access_token_hash`: RFC 7592 §1, the hash of the token that reads,
 *   updates and deletes a dynamically registered client's registration; null for the operator's.
 * - `registration_tokens`: the initial access tokens (RFC 7591 §1.2) of `registration.mode`
 *   `token`, hashed; a name is unique among live ones; each may expire.
 */
import type { Kysely } from 'kysely'
import { sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('registered_dynamically', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.alterTable('clients').addColumn('registration_access_token_hash', 'text').execute()

  await db.schema
    .createTable('registration_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addUniqueConstraint('registration_tokens_token_hash_key', ['token_hash'])
    .execute()
  await db.schema
    .createIndex('registration_tokens_live_name_idx')
    .on('registration_tokens')
    .column('name')
    .unique()
    .where(sql.ref('revoked_at'), 'is', null)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('registration_tokens').execute()
  await db.schema.alterTable('clients').dropColumn('registration_access_token_hash').execute()
  await db.schema.alterTable('clients').dropColumn('registered_dynamically').execute()
}
