/**
 * A small WebSocket chat broker described by `../asyncapi.yaml`, guarded by `@authcode/asyncapi`:
 *
 * - `ws://HOST/rooms/{roomId}`; the access token is read from the `Authorization: Bearer` header of
 *   the upgrade request only. A token in the URL (`?access_token=`) is refused (RFC 9700 §4.3.2).
 * - No token or a bad one: the upgrade is answered 401/400 with `WWW-Authenticate` (RFC 6750 §3).
 * - Receiving (`receiveMessages`) needs `read:messages`; each message sent (`sendMessage`) needs
 *   `write:messages`, checked per message. A refusal closes the connection with code 1008 and the
 *   RFC 6750 error as the reason, e.g. `insufficient_scope: sendMessage needs write:messages`.
 * - An expired token ends the connection, subscription included: when the token expires, and at
 *   the latest at the next message sent to or by it.
 * - Each message delivered carries `from`, the sender's token subject (set by the broker), and the
 *   `name` its app gave, if any, with `sentAt`.
 * - Its protected resource metadata (RFC 9728: its resource, the authorization server, the scopes of
 *   its operations) is at `/.well-known/oauth-protected-resource` (and, for an audience with a path,
 *   the path-suffixed form of §3.1); every refusal's challenge names it (`resource_metadata`).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import {
  PROTECTED_RESOURCE_METADATA_PATH,
  createOperationGuard,
  protectedResourceMetadataUrl,
  type AsyncApiDocument,
  type BearerError,
  type GuardOptions,
  type OperationGuard,
} from '@authcode/asyncapi'

/** WebSocket close code for a policy violation (RFC 6455 §7.4.1). */
export const POLICY_VIOLATION = 1008
const MAX_TEXT = 2000
const MAX_NAME = 64
const ROOM_PATH = /^\/rooms\/([A-Za-z0-9._~-]{1,64})$/

export interface BrokerOptions {
  /** The broker's AsyncAPI document (operations `sendMessage` and `receiveMessages`). */
  document: AsyncApiDocument
  /**
   * How access tokens are verified: the authorization server's issuer and JWKS, this broker's
   * audience (its resource, RFC 8707), the clock. `resourceMetadata` defaults to the broker's own
   * `/.well-known/oauth-protected-resource`.
   */
  guard: GuardOptions
  port?: number
  host?: string
}

export interface Broker {
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

interface Connection {
  socket: WebSocket
  room: string
  authorization: string
  /** A DPoP-bound token (RFC 9449): the key the handshake's proof proved, for the checks of later messages. */
  dpop: { boundKey: string } | undefined
  receives: boolean
  expiry: NodeJS.Timeout | undefined
}

/** The close reason of a refusal: the RFC 6750 error code, then its description (at most 123 bytes). */
function reasonOf(error: BearerError, operation: string): string {
  const text = error.error === 'insufficient_scope' ? `insufficient_scope: ${operation} needs ${error.scope ?? ''}` : `${error.error ?? 'invalid_token'}: ${error.description}`
  return Buffer.from(text).subarray(0, 123).toString()
}

function refuseUpgrade(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  const lines = [`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Request'}`]
  for (const [name, value] of Object.entries({ ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' })) {
    lines.push(`${name}: ${value}`)
  }
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
}

/** Starts the broker; resolves once it listens. */
export async function startBroker(options: BrokerOptions): Promise<Broker> {
  // Checked before listening (a caller's mistake throws here); made again below once the port, and
  // so the metadata URL, is known.
  let guard: OperationGuard = createOperationGuard(options.document, options.guard)
  for (const op of ['sendMessage', 'receiveMessages']) {
    if (!guard.operations.has(op)) throw new TypeError(`startBroker: the document declares no operation ${op}`)
  }
  const now = options.guard.now ?? (() => new Date())
  const connections = new Set<Connection>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 })
  const metadataPaths = new Set([PROTECTED_RESOURCE_METADATA_PATH, ...suffixedMetadataPath(options.guard.audience)])
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://broker.invalid').pathname
    // RFC 9728 §3: the metadata, for GET; anything else is the WebSocket endpoint's.
    if (metadataPaths.has(path) && (request.method === 'GET' || request.method === 'HEAD')) {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', 'access-control-allow-origin': '*' }).end(JSON.stringify(guard.metadata))
      return
    }
    response.writeHead(426, { 'content-type': 'text/plain' }).end('connect with a WebSocket to /rooms/{roomId}\n')
  })

  function end(connection: Connection, error: BearerError, operation: string): void {
    if (connection.expiry) clearTimeout(connection.expiry)
    connections.delete(connection)
    connection.socket.close(POLICY_VIOLATION, reasonOf(error, operation))
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://broker.invalid')
      const room = ROOM_PATH.exec(url.pathname)?.[1]
      if (room === undefined) return refuseUpgrade(socket, 404, {}, '{"error":"not_found"}')
      if (url.searchParams.has('access_token')) {
        // RFC 9700 §4.3.2: tokens in URLs leak (logs, Referer). Refused, never read.
        return refuseUpgrade(socket, 400, { 'www-authenticate': 'Bearer error="invalid_request", error_description="send the token in the Authorization header, not the URL"' }, '{"error":"invalid_request"}')
      }
      const header = request.headers.authorization
      // A DPoP-bound token comes with a proof for the handshake (GET of this URL); later messages
      // on the connection are checked against the key it proved.
      const handshake = { proof: request.headers.dpop, method: 'GET', url: `http://${request.headers.host ?? 'broker.invalid'}${request.url ?? '/'}` }
      const receive = await guard.check('receiveMessages', header, handshake)
      if (!receive.ok && receive.error.error !== 'insufficient_scope') {
        return refuseUpgrade(socket, receive.error.status, { 'www-authenticate': receive.error.wwwAuthenticate }, JSON.stringify({ error: receive.error.error ?? 'invalid_token', error_description: receive.error.description }))
      }
      // A valid token without read:messages may still send: it just does not receive.
      const exp = receive.ok ? receive.claims?.exp : undefined
      wss.handleUpgrade(request, socket, head, (ws) => {
        const connection: Connection = {
          socket: ws,
          room,
          authorization: header ?? '',
          dpop: receive.dpopJkt === undefined ? undefined : { boundKey: receive.dpopJkt },
          receives: receive.ok,
          expiry: undefined,
        }
        connections.add(connection)
        if (exp !== undefined) {
          const ms = Math.max(0, exp * 1000 - now().getTime())
          connection.expiry = setTimeout(() => void expireIfNeeded(connection), Math.min(ms + 1000, 2 ** 31 - 1))
        }
        ws.on('message', (data, isBinary) => void onMessage(connection, data.toString(), isBinary))
        ws.on('close', () => {
          if (connection.expiry) clearTimeout(connection.expiry)
          connections.delete(connection)
        })
      })
      // A rejection means the JWKS could not be fetched: not the client's fault.
    })().catch(() => refuseUpgrade(socket, 503, {}, '{"error":"temporarily_unavailable"}'))
  })

  async function expireIfNeeded(connection: Connection): Promise<boolean> {
    const result = await guard.check('receiveMessages', connection.authorization, connection.dpop)
    if (!result.ok && result.error.error === 'invalid_token') {
      end(connection, result.error, 'receiveMessages')
      return true
    }
    return false
  }

  async function onMessage(connection: Connection, text: string, isBinary: boolean): Promise<void> {
    const send = await guard.check('sendMessage', connection.authorization, connection.dpop)
    if (!send.ok) return end(connection, send.error, 'sendMessage')
    let message: unknown
    try {
      message = isBinary ? undefined : JSON.parse(text)
    } catch {
      message = undefined
    }
    const body = message as { text?: unknown; name?: unknown } | undefined
    if (typeof body !== 'object' || body === null || typeof body.text !== 'string' || body.text.length > MAX_TEXT) {
      connection.socket.close(POLICY_VIOLATION, 'invalid_message: expected {"text": string of at most 2000 characters}')
      return
    }
    // `from` is the token's subject, set here: a sender cannot speak as someone else. `name` is only
    // the label the sender's app gave, shown beside it.
    const name = typeof body.name === 'string' && body.name.trim() !== '' ? body.name.trim().slice(0, MAX_NAME) : undefined
    const out = JSON.stringify({ room: connection.room, text: body.text, sentAt: now().toISOString(), from: send.claims?.sub, ...(name === undefined ? {} : { name }) })
    for (const other of [...connections]) {
      if (other.room !== connection.room || !other.receives || other.socket.readyState !== WebSocket.OPEN) continue
      // The subscriber's token is checked at each delivery: an expired one ends the subscription.
      if (await expireIfNeeded(other)) continue
      other.socket.send(out)
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, options.host ?? 'localhost', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  // Before any request is read (this continuation runs ahead of the server's next I/O callback).
  guard = createOperationGuard(options.document, {
    resourceMetadata: `http://${options.host ?? 'localhost'}:${port}${PROTECTED_RESOURCE_METADATA_PATH}`,
    ...options.guard,
  })
  return {
    url: `ws://${options.host ?? 'localhost'}:${port}`,
    server,
    async close() {
      for (const connection of connections) {
        if (connection.expiry) clearTimeout(connection.expiry)
        connection.socket.terminate()
      }
      connections.clear()
      wss.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** RFC 9728 §3.1: the path-suffixed metadata path of an http(s) audience with a path; none otherwise. */
function suffixedMetadataPath(audience: string): string[] {
  try {
    return [new URL(protectedResourceMetadataUrl(audience)).pathname]
  } catch {
    return []
  }
}
