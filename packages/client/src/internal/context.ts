/** What each step receives: the checked configuration, the metadata and the stores. */
import { createHash, randomBytes } from 'node:crypto'
import type { MetadataCache } from '../config/metadata.js'
import type { ResolvedConfig } from '../config/options.js'
import type { FlowEvent } from '../events.js'
import type { LoginStateStore } from '../login/state-store.js'
import type { SessionRecord, TokenStore } from '../tokens/store.js'

export interface ClientContext {
  readonly config: ResolvedConfig
  readonly metadata: MetadataCache
  readonly loginStates: LoginStateStore
  readonly tokens: TokenStore
  /** Refreshes in flight in this process, by session key: concurrent callers share one. */
  readonly refreshes: Map<string, Promise<SessionRecord>>
  /** Waits between looks at another process's refresh lock (replaceable in tests). */
  readonly wait: (ms: number) => Promise<void>
  /** Hands an event to the `onEvent` listener, if any (its failures ignored). */
  readonly emit: (event: FlowEvent) => void
}

/** 256 random bits, base64url: login ids, session ids, lock owners. */
export function randomId(): string {
  return randomBytes(32).toString('base64url')
}

/** The key a store sees for a session id: its SHA-256, so the store never holds a live cookie value. */
export function sessionKey(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url')
}
