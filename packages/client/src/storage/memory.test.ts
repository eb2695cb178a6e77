/** The store contracts against the in-memory stores (one process: the peer is the same object). */
import { expect, it } from 'vitest'
import { MemoryLoginStateStore, MemoryTokenStore } from './memory.js'
import { loginStateStoreSuite, NOW, session, tokenStoreSuite } from './store.suite.js'

loginStateStoreSuite('MemoryLoginStateStore', async (limits) => {
  const store = new MemoryLoginStateStore(limits)
  return { store, peer: async () => store, close: async () => undefined }
})

tokenStoreSuite('MemoryTokenStore', async () => {
  const store = new MemoryTokenStore()
  return { store, peer: async () => store, close: async () => undefined }
})

it('MemoryTokenStore: TTL: each write drops the sessions that expired before it', async () => {
  const store = new MemoryTokenStore()
  for (let i = 0; i < 100; i += 1) await store.set(`old-${i}`, session({ expiresAt: NOW + 10 }))
  await store.set('kept', session({ expiresAt: NOW + 1000 }))
  expect(store.size).toBe(101)
  await store.set('new', session({ updatedAt: NOW + 10, expiresAt: NOW + 1010 }))
  expect(store.size).toBe(2)
})
