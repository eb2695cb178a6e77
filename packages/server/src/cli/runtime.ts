/**
 * Opening what every command needs: the store (migrated) and the key ring; and which of the data
 * files others could read.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { ServerConfig } from '../config/load.js'
import type { Store } from '../protocol/store.js'
import { openStore, parseDatabaseUrl } from '../storage/open.js'
import { loadKeyEncryptionKey } from '../tokens/kek.js'
import { KeyRing } from '../tokens/key-ring.js'

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export interface Runtime {
  store: Store
  keys: KeyRing
  /** Migrations applied while opening. */
  migrated: string[]
}

export async function openRuntime(config: ServerConfig): Promise<Runtime> {
  const { store, migrated } = await openStore(config.db, { poolSize: config.dbPoolSize })
  try {
    const kek = loadKeyEncryptionKey({ secret: config.secret, dataDir: config.dataDir })
    const keys = new KeyRing(store, kek, {
      activationDelay: config.keys.activationDelay,
      // A key stays published until every token it signed has expired.
      maxTokenLifetime: Math.max(config.lifetimes.accessToken, config.lifetimes.idToken),
      cacheTtl: config.keys.cacheTtl,
    })
    return { store, keys, migrated }
  } catch (error) {
    await store.close()
    throw error
  }
}

/** A data folder or file that the group or others may access. */
export interface LoosePath {
  path: string
  /** Its permission bits in octal, e.g. `755`. */
  mode: string
  directory: boolean
}

/**
 * SECURITY 32: the data folder, each file and folder in it, and the SQLite database with
 * its -wal and -shm wherever they are, when the group or others may access them (the folder
 * first, then by path). Only reported, never changed: the operator may have opened them on
 * purpose (a backup group), and a file that was readable may have been read, which a quiet chmod
 * would hide. New ones are created private (`storage/sqlite.ts`, `tokens/kek.ts`, `cli/demo.ts`).
 */
export function looseDataPaths(config: ServerConfig): LoosePath[] {
  // Mode bits mean nothing on Windows.
  if (process.platform === 'win32') return []
  const inside: string[] = []
  try {
    for (const name of readdirSync(config.dataDir)) inside.push(join(config.dataDir, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const location = parseDatabaseUrl(config.db)
  if (location.dialect === 'sqlite') inside.push(...['', '-wal', '-shm'].map((suffix) => `${location.path}${suffix}`))
  const loose: LoosePath[] = []
  for (const path of [config.dataDir, ...[...new Set(inside)].sort()]) {
    const stats = statSync(path, { throwIfNoEntry: false })
    if (stats === undefined || (stats.mode & 0o077) === 0) continue
    loose.push({ path, mode: (stats.mode & 0o777).toString(8), directory: stats.isDirectory() })
  }
  return loose
}
