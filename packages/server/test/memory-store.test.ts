/**
 * The fake keeps the contract: the shared store suite runs against it, so the protocol's unit
 * tests, which run on it, see what the real stores would do.
 */
import { storeSuite } from '../src/storage/store.suite.js'
import { MemoryStore } from './memory-store.js'

storeSuite('in-memory fake', async () => new MemoryStore())
