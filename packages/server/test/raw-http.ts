/**
 * HTTP/1.1 over a plain socket, for requests that `fetch` refuses to send: any method, any
 * request target (raw bytes, bad escapes), repeated or odd headers, bodies that do not match
 * their content type. One request per connection (`Connection: close`).
 */
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  /** Header names in lower case; repeated headers keep every value. */
  headers: Map<string, string[]>
  /** The body decoded as UTF-8 (chunked transfer coding removed). */
  body: string
}

export interface RawRequest {
  method: string
  /** The request target exactly as sent: path and query, not re-encoded. */
  target: string | Buffer
  /** Sent in order; a name may repeat. `Host` and `Connection: close` are added unless given. */
  headers?: Array<[string, string | Buffer]>
  body?: string | Buffer
  /** Adds `Content-Length` for the body (default true). */
  contentLength?: boolean
}

/** Milliseconds after which a request counts as a hang. */
export const HANG_MS = 5_000

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let offset = 0
  for (;;) {
    const eol = data.indexOf('\r\n', offset)
    if (eol === -1) break
    const size = Number.parseInt(data.subarray(offset, eol).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(data.subarray(eol + 2, eol + 2 + size))
    offset = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}

function parseResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`no complete response head: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`)
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
  if (!Number.isInteger(status)) throw new Error(`bad status line: ${statusLine}`)
  const headers = new Map<string, string[]>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()])
  }
  let body = data.subarray(end + 4)
  if (headers.get('transfer-encoding')?.some((v) => /chunked/i.test(v)) === true) body = dechunk(body)
  return { status, headers, body: body.toString('utf8') }
}

/** Sends one request to 127.0.0.1:port and resolves with the response; rejects on a hang or no response. */
export function rawRequest(port: number, request: RawRequest): Promise<RawResponse> {
  const headers = [...(request.headers ?? [])]
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) headers.unshift(['Host', `localhost:${port}`])
  headers.push(['Connection', 'close'])
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8')
  if (body !== undefined && request.contentLength !== false) headers.push(['Content-Length', String(body.length)])
  const head = Buffer.concat([
    Buffer.from(`${request.method} `, 'latin1'),
    Buffer.isBuffer(request.target) ? request.target : Buffer.from(request.target, 'latin1'),
    Buffer.from(' HTTP/1.1\r\n', 'latin1'),
    ...headers.map(([name, value]) => Buffer.concat([Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
  ])

  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      const data = Buffer.concat(chunks)
      if (data.length > 0) {
        try {
          resolve(parseResponse(data))
        } catch (parseError) {
          reject(parseError as Error)
        }
      } else {
        reject(error ?? new Error('the connection closed without a response'))
      }
    }
    const timer = setTimeout(() => finish(new Error(`no response within ${HANG_MS} ms (a hang)`)), HANG_MS)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('end', () => finish())
    socket.on('close', () => finish())
    // The server may answer (413, 431) and close before the whole request is written.
    socket.on('error', (error) => finish(error))
    socket.write(head)
    if (body !== undefined) socket.write(body)
  })
}

/** The first value of a response header. */
export const header = (response: RawResponse, name: string): string | undefined => response.headers.get(name.toLowerCase())?.[0]
