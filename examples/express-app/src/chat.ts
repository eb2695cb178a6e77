/**
 * The demo app's side of the example chat broker (examples/broker): the app, not the browser, talks
 * to the broker, with the user's access token in the `Authorization` header of the WebSocket
 * upgrade. The token never reaches the page, a URL or a log.
 *
 * - Receiving: one subscription per session, opened on the first visit of the chat page; the last
 *   messages are buffered here, the page shows the buffer, and `listen` passes each new message
 *   (and the subscription's end) on as it comes, for the page's live list.
 * - Sending: a short-lived connection per message, closed once the message went through or the
 *   broker refused it (its close reason, e.g. `insufficient_scope: sendMessage needs write:messages`).
 */
import { WebSocket } from 'ws'

export const CHAT_BUFFER = 50
const OPEN_TIMEOUT_MS = 5_000
/** How long a sent message may take to come back before the send counts as done. */
const ECHO_WAIT_MS = 1_000

export interface ChatMessage {
  /** Its place in the session's subscription: 1, 2, … (a page asks for what follows the last it shows). */
  seq: number
  text: string
  sentAt: string
  /** The sender's token subject, as the broker set it. */
  from: string | undefined
  /** The sender's display name, as the sender's app gave it. */
  name: string | undefined
}

/** What `listen` passes on: a message, or the end of the subscription and why. */
export type ChatEvent = { type: 'message'; message: ChatMessage } | { type: 'closed'; reason: string }

export interface ChatState {
  status: 'connecting' | 'open' | 'closed'
  /** Why the broker refused or ended the connection, when it did. */
  reason?: string
  messages: readonly ChatMessage[]
}

export interface ChatHubOptions {
  /** The broker, e.g. `ws://localhost:8080`. */
  brokerUrl: string
  room: string
  /** The session's current access token (refreshed when needed). */
  accessToken: (sessionId: string) => Promise<string>
}

interface Subscription {
  socket: WebSocket | undefined
  status: ChatState['status']
  reason: string | undefined
  messages: ChatMessage[]
  /** How many messages the subscription received (the last one's `seq`). */
  received: number
  listeners: Set<(event: ChatEvent) => void>
}

/** The result of a send: ok, or the broker's refusal reason. */
export type SendResult = { ok: true } | { ok: false; reason: string }

export class ChatHub {
  readonly #options: ChatHubOptions
  readonly #subscriptions = new Map<string, Subscription>()

  constructor(options: ChatHubOptions) {
    this.#options = options
  }

  get roomUrl(): string {
    return `${this.#options.brokerUrl.replace(/\/+$/, '')}/rooms/${encodeURIComponent(this.#options.room)}`
  }

  /** The session's subscription state; opens the subscription on first use (or `reconnect`). */
  async state(sessionId: string, reconnect = false): Promise<ChatState> {
    let subscription = this.#subscriptions.get(sessionId)
    if (subscription === undefined || (reconnect && subscription.status === 'closed')) {
      subscription = await this.#subscribe(sessionId, subscription?.messages ?? [])
    }
    return { status: subscription.status, reason: subscription.reason, messages: [...subscription.messages] }
  }

  /**
   * Calls `listener` with each message the session's subscription receives from now on, and when
   * it ends; returns the function that stops it. Open the subscription first (`state`).
   */
  listen(sessionId: string, listener: (event: ChatEvent) => void): () => void {
    const subscription = this.#subscriptions.get(sessionId)
    if (subscription === undefined) return () => undefined
    subscription.listeners.add(listener)
    return () => subscription.listeners.delete(listener)
  }

  /** Sends one message to the room with the session's token; `name` is the sender's display name. */
  async send(sessionId: string, text: string, name: string | undefined): Promise<SendResult> {
    const token = await this.#options.accessToken(sessionId)
    const subscription = this.#subscriptions.get(sessionId)
    // The session's own subscription receives the message too: wait for it, so that the page shows it.
    const delivered = subscription?.status === 'open' ? this.#waitFor(subscription, text) : undefined
    const result = await new Promise<SendResult>((resolve) => {
      let settled = false
      const finish = (value: SendResult): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(value)
        if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000)
      }
      const socket = this.#connect(token)
      const timer = setTimeout(() => finish({ ok: false, reason: 'the broker did not answer in time' }), OPEN_TIMEOUT_MS)
      socket.once('unexpected-response', (_request, response) => finish({ ok: false, reason: refusalOf(response.statusCode, response.headers['www-authenticate']) }))
      socket.on('error', (error) => finish({ ok: false, reason: `cannot reach the broker (${error.message})` }))
      socket.once('close', (code, reason) => {
        if (code === 1000 || code === 1005) finish({ ok: true })
        else finish({ ok: false, reason: reason.toString() || `connection closed (${code})` })
      })
      socket.once('open', () => {
        socket.send(JSON.stringify(name === undefined ? { text } : { text, name }))
        clearTimeout(timer)
        // No acknowledgement in the protocol: the message went through unless the broker closes
        // the connection (a refusal) soon; a token that may also receive gets the message back.
        socket.once('message', () => finish({ ok: true }))
        setTimeout(() => finish({ ok: true }), ECHO_WAIT_MS).unref()
      })
    })
    if (result.ok && delivered !== undefined) await delivered
    return result
  }

  /** Closes every subscription (the app stops). */
  close(): void {
    for (const subscription of this.#subscriptions.values()) subscription.socket?.terminate()
    this.#subscriptions.clear()
  }

  #connect(token: string): WebSocket {
    // The token goes in the upgrade's Authorization header only (never in the URL).
    return new WebSocket(this.roomUrl, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: OPEN_TIMEOUT_MS })
  }

  async #subscribe(sessionId: string, messages: ChatMessage[]): Promise<Subscription> {
    const subscription: Subscription = { socket: undefined, status: 'connecting', reason: undefined, messages, received: messages.at(-1)?.seq ?? 0, listeners: new Set() }
    this.#subscriptions.set(sessionId, subscription)
    const closed = (reason: string): void => {
      subscription.status = 'closed'
      subscription.reason = reason
      subscription.socket = undefined
      for (const listener of subscription.listeners) listener({ type: 'closed', reason })
    }
    let token: string
    try {
      token = await this.#options.accessToken(sessionId)
    } catch (error) {
      this.#subscriptions.delete(sessionId)
      throw error
    }
    await new Promise<void>((resolve) => {
      const socket = this.#connect(token)
      subscription.socket = socket
      socket.once('open', () => {
        subscription.status = 'open'
        resolve()
      })
      socket.once('unexpected-response', (_request, response) => {
        closed(refusalOf(response.statusCode, response.headers['www-authenticate']))
        socket.terminate()
        resolve()
      })
      socket.on('error', (error) => {
        if (subscription.status !== 'closed') closed(`cannot reach the broker (${error.message})`)
        resolve()
      })
      socket.on('close', (code, reason) => {
        if (subscription.status !== 'closed') closed(reason.toString() || `connection closed (${code})`)
        resolve()
      })
      socket.on('message', (data) => {
        let message: unknown
        try {
          message = JSON.parse(data.toString())
        } catch {
          return
        }
        const { text, sentAt, from, name } = (message ?? {}) as { text?: unknown; sentAt?: unknown; from?: unknown; name?: unknown }
        if (typeof text !== 'string') return
        subscription.received += 1
        const entry: ChatMessage = {
          seq: subscription.received,
          text,
          sentAt: typeof sentAt === 'string' && !Number.isNaN(Date.parse(sentAt)) ? sentAt : new Date().toISOString(),
          from: typeof from === 'string' ? from : undefined,
          name: typeof name === 'string' ? name : undefined,
        }
        subscription.messages.push(entry)
        if (subscription.messages.length > CHAT_BUFFER) subscription.messages.splice(0, subscription.messages.length - CHAT_BUFFER)
        for (const listener of subscription.listeners) listener({ type: 'message', message: entry })
      })
    })
    return subscription
  }

  #waitFor(subscription: Subscription, text: string): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        subscription.listeners.delete(waiter)
        clearTimeout(timer)
        resolve()
      }
      const waiter = (event: ChatEvent): void => {
        if (event.type === 'closed' || event.message.text === text) done()
      }
      const timer = setTimeout(done, ECHO_WAIT_MS)
      subscription.listeners.add(waiter)
    })
  }
}

/** The RFC 6750 error of a refused upgrade, from its `WWW-Authenticate` header. */
function refusalOf(status: number | undefined, header: string | undefined): string {
  const error = /error="([^"]*)"/.exec(header ?? '')?.[1]
  const description = /error_description="([^"]*)"/.exec(header ?? '')?.[1]
  if (error === undefined) return `the broker refused the connection (HTTP ${status ?? '?'})`
  return description === undefined ? error : `${error}: ${description}`
}
