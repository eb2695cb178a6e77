/**
 * Web origins (issue #22): the origins a public client's pages run at, besides those of its
 * redirect URIs, allowed to call the token, revocation and PAR endpoints (CORS).
 * Frozen: a shipped migration is never edited and imports nothing from the app.
 * - `clients.web_origins`: a JSON list of serialized origins, empty by default.
 */
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('web_origins', 'text', (c) => c.notNull().defaultTo('[]')).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('web_origins').execute()
}
