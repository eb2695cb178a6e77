/**
 * The two internal modules of oidc-provider 9 that oidc-provider-process.ts uses (its published
 * types cover only the package entry): the in-memory adapter and the LRU it stores into.
 */
declare module 'oidc-provider/lib/helpers/lru.js' {
  export default class LRU {
    constructor(options: { maxSize: number })
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  import type { Adapter } from 'oidc-provider'
  import type LRU from 'oidc-provider/lib/helpers/lru.js'

  const MemoryAdapter: new (model: string, store: LRU, clockTolerance?: number) => Adapter
  export default MemoryAdapter
}
