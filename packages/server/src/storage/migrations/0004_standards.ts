/**
 * What certified providers do (issue #14): pushed authorization requests (RFC 9126), DPoP
 * (RFC 9449) and `private_key_jwt` client authentication (RFC 7523, OIDC Core §9).
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `clients`: how the client authenticates (`token_endpoint_auth_method`, null: by its secret, or
 *   none for a public client, as before), its keys (`jwks` as JSON, or `jwks_uri`), whether it must
 *   push its authorization requests and whether its access tokens must be DPoP-bound.
 * - `authorization_codes.dpop_jkt`: the key thumbprint `/authorize` was given (`dpop_jkt`); the
 *   code exchange must prove that key. `refresh_tokens.dpop_jkt`: a public client's refresh token
 *   is bound to the key of the proof that obtained it.
 * - `pushed_requests`: a pushed request's parameters under the hash of its `request_uri`, for one use.
 * - `used_jtis`: single-use `jti`s (DPoP proofs, client assertions) under a hash, until they expire.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('token_endpoint_auth_method', 'text').execute()
  await db.schema.alterTable('clients').addColumn('jwks', 'text').execute()
  await db.schema.alterTable('clients').addColumn('jwks_uri', 'text').execute()
  await db.schema.alterTable('clients').addColumn('require_pushed_authorization_requests', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.alterTable('clients').addColumn('dpop_bound_access_tokens', 'integer', (c) => c.notNull().defaultTo(0)).execute()
  await db.schema.alterTable('authorization_codes').addColumn('dpop_jkt', 'text').execute()
  await db.schema.alterTable('refresh_tokens').addColumn('dpop_jkt', 'text').execute()

  await db.schema
    .createTable('pushed_requests')
    .addColumn('uri_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('pushed_requests_expires_at_idx').on('pushed_requests').column('expires_at').execute()

  await db.schema
    .createTable('used_jtis')
    .addColumn('jti_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('used_jtis_expires_at_idx').on('used_jtis').column('expires_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('used_jtis').execute()
  await db.schema.dropTable('pushed_requests').execute()
  await db.schema.alterTable('refresh_tokens').dropColumn('dpop_jkt').execute()
  await db.schema.alterTable('authorization_codes').dropColumn('dpop_jkt').execute()
  await db.schema.alterTable('clients').dropColumn('dpop_bound_access_tokens').execute()
  await db.schema.alterTable('clients').dropColumn('require_pushed_authorization_requests').execute()
  await db.schema.alterTable('clients').dropColumn('jwks_uri').execute()
  await db.schema.alterTable('clients').dropColumn('jwks').execute()
  await db.schema.alterTable('clients').dropColumn('token_endpoint_auth_method').execute()
}
