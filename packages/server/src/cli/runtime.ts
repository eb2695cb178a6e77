/**
 * Opening what every command needs: the store (migrated) and the key ring.
 */
import type { ServerConfig } from '../config/load.js'
import type { Store } from '../protocol/store.js'
import { openStore } from '../storage/open.js'
import { KeyRing, loadKeyEncryptionKey } from '../tokens/keys.js'

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
