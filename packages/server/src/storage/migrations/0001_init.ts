/**
 * The initial schema. Frozen: a shipped migration is never edited and imports nothing from the app.
 * Only `text`, `bigint` and `integer` columns, so SQLite and PostgreSQL run it unchanged.
 */
import type { ColumnDefinitionBuilder, Kysely } from 'kysely'

/** A required reference whose rows go when the referenced row goes. */
function owned(target: string) {
  return (column: ColumnDefinitionBuilder) => column.notNull().references(target).onDelete('cascade')
}

function required(column: ColumnDefinitionBuilder) {
  return column.notNull()
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('name', 'text', required)
    .addColumn('secret_hash', 'text')
    .addColumn('redirect_uris', 'text', required)
    .addColumn('scopes', 'text', required)
    .addColumn('grant_types', 'text', required)
    .addColumn('id_token_signed_response_alg', 'text', required)
    .addColumn('pkce_optional', 'integer', required)
    .addColumn('first_party', 'integer', required)
    .addColumn('created_at', 'bigint', required)
    .execute()

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('username', 'text', required)
    .addColumn('password_hash', 'text', required)
    .addColumn('name', 'text')
    .addColumn('email', 'text')
    .addColumn('email_verified', 'integer', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('updated_at', 'bigint', required)
    .addUniqueConstraint('users_username_key', ['username'])
    .execute()

  await db.schema
    .createTable('login_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('user_id', 'text', owned('users.id'))
    .addColumn('auth_time', 'bigint', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('expires_at', 'bigint', required)
    .execute()
  await db.schema.createIndex('login_sessions_user_id_idx').on('login_sessions').column('user_id').execute()
  await db.schema.createIndex('login_sessions_expires_at_idx').on('login_sessions').column('expires_at').execute()

  await db.schema
    .createTable('interactions')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('client_id', 'text', owned('clients.client_id'))
    .addColumn('request', 'text', required)
    .addColumn('state', 'text', required)
    .addColumn('csrf_token', 'text', required)
    .addColumn('browser_hash', 'text', required)
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('auth_time', 'bigint')
    .addColumn('created_at', 'bigint', required)
    .addColumn('expires_at', 'bigint', required)
    .execute()
  await db.schema.createIndex('interactions_client_id_idx').on('interactions').column('client_id').execute()
  await db.schema.createIndex('interactions_expires_at_idx').on('interactions').column('expires_at').execute()

  await db.schema
    .createTable('consents')
    .addColumn('user_id', 'text', owned('users.id'))
    .addColumn('client_id', 'text', owned('clients.client_id'))
    .addColumn('scopes', 'text', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('updated_at', 'bigint', required)
    .addPrimaryKeyConstraint('consents_pkey', ['user_id', 'client_id'])
    .execute()
  await db.schema.createIndex('consents_client_id_idx').on('consents').column('client_id').execute()

  await db.schema
    .createTable('grants')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('client_id', 'text', owned('clients.client_id'))
    .addColumn('user_id', 'text', owned('users.id'))
    .addColumn('scopes', 'text', required)
    .addColumn('auth_time', 'bigint', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('revoked_at', 'bigint')
    .execute()
  await db.schema.createIndex('grants_client_id_idx').on('grants').column('client_id').execute()
  await db.schema.createIndex('grants_user_id_idx').on('grants').column('user_id').execute()

  await db.schema
    .createTable('authorization_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('grant_id', 'text', owned('grants.id'))
    .addColumn('client_id', 'text', owned('clients.client_id'))
    .addColumn('user_id', 'text', owned('users.id'))
    .addColumn('redirect_uri', 'text', required)
    .addColumn('redirect_uri_sent', 'integer', required)
    .addColumn('code_challenge', 'text')
    .addColumn('code_challenge_method', 'text')
    .addColumn('nonce', 'text')
    .addColumn('scopes', 'text', required)
    .addColumn('auth_time', 'bigint', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('expires_at', 'bigint', required)
    .addColumn('consumed_at', 'bigint')
    .execute()

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey().notNull())
    .addColumn('grant_id', 'text', owned('grants.id'))
    .addColumn('client_id', 'text', owned('clients.client_id'))
    .addColumn('user_id', 'text', owned('users.id'))
    .addColumn('scopes', 'text', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('expires_at', 'bigint', required)
    .addColumn('rotated_at', 'bigint')
    .execute()

  await db.schema
    .createTable('access_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey().notNull())
    .addColumn('grant_id', 'text', owned('grants.id'))
    .addColumn('client_id', 'text', owned('clients.client_id'))
    .addColumn('user_id', 'text', owned('users.id'))
    .addColumn('scopes', 'text', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('expires_at', 'bigint', required)
    .addColumn('revoked_at', 'bigint')
    .execute()

  // Issued credentials: found by grant (revocation, cascade, purge of grants) and by expiry (purge);
  // client_id/user_id also cascade, so deleting a client or user does not scan these tables.
  for (const table of ['authorization_codes', 'refresh_tokens', 'access_tokens']) {
    for (const column of ['grant_id', 'client_id', 'user_id', 'expires_at']) {
      await db.schema.createIndex(`${table}_${column}_idx`).on(table).column(column).execute()
    }
  }

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey().notNull())
    .addColumn('alg', 'text', required)
    .addColumn('public_jwk', 'text', required)
    .addColumn('private_key_encrypted', 'text', required)
    .addColumn('created_at', 'bigint', required)
    .addColumn('activates_at', 'bigint', required)
    .execute()

  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey().notNull())
    .addColumn('count', 'integer', required)
    .addColumn('reset_at', 'bigint', required)
    .execute()
  await db.schema.createIndex('rate_limits_reset_at_idx').on('rate_limits').column('reset_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'rate_limits',
    'signing_keys',
    'access_tokens',
    'refresh_tokens',
    'authorization_codes',
    'grants',
    'consents',
    'interactions',
    'login_sessions',
    'users',
    'clients',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
