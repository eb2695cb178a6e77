/** An administrative context over the in-memory store for the unit tests of `src/admin/`: a fixed clock the test moves, and the events kept. */
import { randomBytes } from 'node:crypto'
import type { AdminContext } from '../src/admin/context.js'
import type { SecurityEvent } from '../src/protocol/events.js'
import { KeyRing } from '../src/tokens/key-ring.js'
import { MemoryStore } from './memory-store.js'
import { NOW } from './protocol-fixtures.js'

export interface TestAdmin extends AdminContext {
  store: MemoryStore
  /** Every event emitted, in order. */
  emitted: SecurityEvent[]
  /** Moves the clock. */
  advance(seconds: number): void
}

export function testAdmin(actor: AdminContext['actor'] = 'cli'): TestAdmin {
  const store = new MemoryStore()
  let now = NOW
  const emitted: SecurityEvent[] = []
  return {
    store,
    keys: new KeyRing(store, randomBytes(32), { activationDelay: 60, maxTokenLifetime: 600, cacheTtl: 10 }),
    config: { scopes: { openid: 'Sign in', profile: 'Your profile', email: 'Your email', 'read:messages': 'Read messages' }, keys: { activationDelay: 60 } },
    now: () => now,
    events: { emit: (event) => void emitted.push(event) },
    actor,
    emitted,
    advance: (seconds) => {
      now += seconds
    },
  }
}
