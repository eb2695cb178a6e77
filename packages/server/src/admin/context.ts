/**
 * What every administrative operation is given: the store, the key ring, the settings it reads,
 * the clock, where its audit events go and who is acting. The CLI and the admin API each build
 * one per command or request; the operations never read the process, the clock or a config file.
 */
import type { AdminActor, EventSink } from '../protocol/events.js'
import type { Store } from '../protocol/store.js'
import type { KeyRing } from '../tokens/key-ring.js'

/** The settings the operations read (`ServerConfig` satisfies it). */
export interface AdminSettings {
  /** The scopes this server offers: a client may be registered for these only. */
  scopes: Readonly<Record<string, string>>
  keys: { activationDelay: number }
}

export interface AdminContext {
  store: Store
  keys: KeyRing
  config: AdminSettings
  /** Seconds since the epoch. */
  now: () => number
  events: EventSink
  /** Who makes the changes: named in every event. */
  actor: AdminActor
}
