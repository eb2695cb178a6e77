/**
 * Back-channel logout (OpenID Back-Channel Logout 1.0): when a login session ends, every client
 * signed in to in it that registered a `backchannel_logout_uri` gets a logout token, POSTed
 * form-encoded as `logout_token` (§2.5), outside the request that ended the session.
 *
 * The sign-out queues one delivery per session and client in the database, in the transaction
 * that ends the session (`Store.signOutBrowser`); this module delivers them. Each instance runs a
 * {@link LogoutDelivery}: it claims due deliveries with a lease (`claimLogoutDeliveries`, so one
 * instance delivers each), signs a fresh token per attempt (`TokenMinter.logoutToken`), POSTs it
 * with a timeout, and retries a failure after each of `retryDelays` in turn before giving up. The
 * queue survives a restart: a delivery under way when an instance stops is due again when its
 * lease ends, on whichever instance claims it.
 *
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html
 */
import type { TokenMinter } from './issue-tokens.js'
import type { LogoutDeliveryRecord, Store } from './store.js'

/** How deliveries are made; `LOGOUT_DELIVERY_DEFAULTS` unless the app is given others. */
export interface LogoutDeliverySettings {
  /** Milliseconds one POST may take, answer included. */
  readonly timeoutMs: number
  /** Seconds to wait before each retry, in turn; a delivery that failed once more is given up. */
  readonly retryDelays: readonly number[]
  /** Seconds a claim holds a delivery before another instance may take it: more than `timeoutMs`. */
  readonly lease: number
  /** Deliveries claimed per round. */
  readonly batch: number
  /** Seconds between looks at the queue when nothing is due sooner (deliveries another instance or the CLI queued). */
  readonly pollInterval: number
}

export const LOGOUT_DELIVERY_DEFAULTS: LogoutDeliverySettings = Object.freeze({
  timeoutMs: 5_000,
  retryDelays: Object.freeze([5, 30, 120, 600, 1_800, 3_600]),
  lease: 60,
  batch: 20,
  pollInterval: 30,
})

/** What a POST to a back-channel logout URI came to. */
export type PostOutcome = { status: number } | { failed: 'timeout' | 'network' }

/** POSTs `body` (form-encoded) to `uri` within `timeoutMs`, or until `signal` aborts; never follows a redirect. */
export type LogoutPoster = (uri: string, body: string, timeoutMs: number, signal: AbortSignal) => Promise<PostOutcome>

/** What became of one attempt. */
export type AttemptResult =
  /** §2.8: 200 (or 204, which some frameworks answer): the client logged the session out. */
  | { kind: 'delivered' }
  /** Worth another attempt: no answer in time, no connection, a 5xx, 408 or 429. */
  | { kind: 'retry'; reason: string }
  /** The client refused it (§2.8: 400) or answered something no retry changes (another 4xx, a redirect). */
  | { kind: 'refused'; reason: string }
  /** The client is gone, or no longer has a back-channel logout URI. */
  | { kind: 'obsolete' }

/** §2.8: how the client's answer is read. */
export function attemptResult(outcome: PostOutcome): AttemptResult {
  if ('failed' in outcome) return { kind: 'retry', reason: outcome.failed === 'timeout' ? 'no answer in time' : 'no connection' }
  const { status } = outcome
  if (status === 200 || status === 204) return { kind: 'delivered' }
  if (status >= 500 || status === 408 || status === 429) return { kind: 'retry', reason: `HTTP ${status}` }
  return { kind: 'refused', reason: `HTTP ${status}` }
}

/** The POST of §2.5 over `fetch`: form-encoded, no redirect followed, no cookie, aborted at the timeout. */
export const postLogoutToken: LogoutPoster = async (uri, body, timeoutMs, signal) => {
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    const response = await fetch(uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([timeout, signal]),
    })
    // The answer's body means nothing to us (§2.8 allows an error object): drained, not read.
    await response.body?.cancel().catch(() => undefined)
    return { status: response.status }
  } catch {
    return { failed: timeout.aborted ? 'timeout' : 'network' }
  }
}

/** Where the worker's notes go (pino's logger fits). Never a token. */
export interface DeliveryLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

const SILENT: DeliveryLog = Object.freeze({ info: () => {}, warn: () => {}, error: () => {} })

export interface LogoutDeliveryDeps {
  store: Store
  minter: Pick<TokenMinter, 'logoutToken'>
  now: () => number
  settings?: Partial<LogoutDeliverySettings>
  post?: LogoutPoster
}

/**
 * One instance's deliverer of the queued logout tokens. `start` looks at the queue at once (what a
 * previous run left is delivered now), then whenever a delivery falls due and every `pollInterval`;
 * `kick` looks at once (a sign-out just queued some). Rounds never overlap; `stop` aborts the POSTs
 * under way (their deliveries are due again when their lease ends) and waits for the round to end.
 */
export class LogoutDelivery {
  readonly #deps: LogoutDeliveryDeps
  readonly #settings: LogoutDeliverySettings
  readonly #post: LogoutPoster
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined
  #again = false
  #running = false
  #abort = new AbortController()
  #log: DeliveryLog = SILENT

  constructor(deps: LogoutDeliveryDeps) {
    const settings = { ...LOGOUT_DELIVERY_DEFAULTS, ...deps.settings }
    if (!(settings.timeoutMs > 0) || !(settings.lease * 1000 > settings.timeoutMs)) throw new TypeError('the lease must outlast the POST timeout')
    if (!(settings.batch >= 1) || !(settings.pollInterval > 0) || !settings.retryDelays.every((delay) => delay >= 0)) {
      throw new TypeError('batch, pollInterval and retryDelays must be positive')
    }
    this.#deps = deps
    this.#settings = settings
    this.#post = deps.post ?? postLogoutToken
  }

  /** Starts delivering; notes go to `log`. */
  start(log: DeliveryLog): void {
    if (this.#running) return
    this.#running = true
    this.#log = log
    this.#abort = new AbortController()
    this.kick()
  }

  /** Looks at the queue now (after the round under way, if any). */
  kick(): void {
    if (!this.#running) return
    if (this.#round !== undefined) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#round = this.#runRounds().finally(() => {
      this.#round = undefined
    })
  }

  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#abort.abort()
    await this.#round
  }

  async #runRounds(): Promise<void> {
    let wait: number
    do {
      this.#again = false
      wait = await this.#roundOrLog()
    } while (this.#running && (this.#again || wait === 0))
    if (this.#running) this.#timer = setTimeout(() => this.kick(), wait * 1000).unref()
  }

  /** One round; the seconds until the next one (0: at once). A store that fails is logged and tried again at the next poll. */
  async #roundOrLog(): Promise<number> {
    try {
      return await this.#roundOnce()
    } catch (error) {
      if (this.#running) this.#log.error({ err: error }, 'back-channel logout: the queue could not be read')
      return this.#settings.pollInterval
    }
  }

  async #roundOnce(): Promise<number> {
    const { store, now } = this.#deps
    const { lease, batch, pollInterval } = this.#settings
    const claimed = await store.claimLogoutDeliveries(now(), lease, batch)
    await Promise.all(claimed.map((delivery) => this.#attemptOrLog(delivery)))
    if (claimed.length === batch) return 0
    const next = await store.nextLogoutDeliveryAt()
    return next === undefined ? pollInterval : Math.min(pollInterval, Math.max(0, next - now()))
  }

  /** A failure of ours (the store, a signing key) is logged; the delivery is due again when its lease ends. */
  async #attemptOrLog(delivery: LogoutDeliveryRecord): Promise<void> {
    try {
      await this.#attempt(delivery)
    } catch (error) {
      this.#log.error({ err: error, client_id: delivery.clientId, sid: delivery.sid }, 'back-channel logout: the delivery failed on our side')
    }
  }

  /** One attempt at one claimed delivery, and what follows from it in the queue. */
  async #attempt(delivery: LogoutDeliveryRecord): Promise<void> {
    const { store, minter, now } = this.#deps
    const log = this.#log
    const fields = { client_id: delivery.clientId, user_id: delivery.userId, sid: delivery.sid, attempt: delivery.attempts }
    const client = await store.getClient(delivery.clientId)
    let result: AttemptResult
    if (client?.backchannelLogoutUri == null) {
      result = { kind: 'obsolete' }
    } else {
      const token = await minter.logoutToken(client, delivery, now())
      const outcome = await this.#post(client.backchannelLogoutUri, new URLSearchParams({ logout_token: token }).toString(), this.#settings.timeoutMs, this.#abort.signal)
      // Stopped mid-POST: not the client's failure; the lease brings it back.
      if (this.#abort.signal.aborted) return
      result = attemptResult(outcome)
    }
    const delay = this.#settings.retryDelays[delivery.attempts - 1]
    switch (result.kind) {
      case 'delivered':
        log.info(fields, 'back-channel logout delivered')
        return store.deleteLogoutDelivery(delivery.sid, delivery.clientId)
      case 'obsolete':
        return store.deleteLogoutDelivery(delivery.sid, delivery.clientId)
      case 'refused':
        log.warn({ ...fields, reason: result.reason }, 'back-channel logout refused by the client; given up')
        return store.deleteLogoutDelivery(delivery.sid, delivery.clientId)
      case 'retry':
        if (delay === undefined) {
          log.warn({ ...fields, reason: result.reason }, 'back-channel logout failed at its last attempt; given up')
          return store.deleteLogoutDelivery(delivery.sid, delivery.clientId)
        }
        log.warn({ ...fields, reason: result.reason, retry_in: delay }, 'back-channel logout failed; retried later')
        return store.retryLogoutDelivery(delivery.sid, delivery.clientId, delivery.attempts, now() + delay)
    }
  }
}
