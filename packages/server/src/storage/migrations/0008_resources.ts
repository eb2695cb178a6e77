/**
 * Resource indicators (RFC 8707, issue #21). Frozen: a shipped migration is never edited and
 * imports nothing from the app.
 * - `grants.resources`: the resources the user authorized the client for, a JSON array of URIs
 *   (each access token of the grant, refreshed ones too, is for one of them); null when the
 *   authorization named none, as for every grant made before this migration.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').addColumn('resources', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('resources').execute()
}
