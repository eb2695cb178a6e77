/**
 * Every migration, listed by name in the order they run. A new migration is a new numbered file
 * added here; a shipped one is never edited or removed. Listed in code so the built package needs
 * no folder scanning.
 */
import type { Migration, MigrationProvider } from 'kysely'
import * as init from './0001_init.js'
import * as sessionsAndAttempts from './0002_sessions_and_attempts.js'
import * as admin from './0003_admin.js'
import * as standards from './0004_standards.js'
import * as logout from './0005_logout.js'
import * as webOrigins from './0006_web_origins.js'
import * as registration from './0007_registration.js'
import * as resources from './0008_resources.js'
import * as passkeys from './0009_passkeys.js'

const migrations: Record<string, Migration> = {
  '0001_init': init,
  '0002_sessions_and_attempts': sessionsAndAttempts,
  '0003_admin': admin,
  '0004_standards': standards,
  '0005_logout': logout,
  '0006_web_origins': webOrigins,
  '0007_registration': registration,
  '0008_resources': resources,
  '0009_passkeys': passkeys,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
}
