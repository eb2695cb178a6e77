/** Requests and assertions shared by the registration tests (RFC 7591, RFC 7592). */
import { expect } from 'vitest'
import type { Json } from '../back-channel.js'
import type { TestClient, TestServer } from '../harness.js'

/** POST /register with `metadata` as JSON (a string is sent as it is). */
export function register(target: TestServer, metadata: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${target.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof metadata === 'string' ? metadata : JSON.stringify(metadata),
  })
}

/** Asserts a 201 client information response (RFC 7591 §3.2.1) and returns it. */
export async function expectRegistered(response: Response): Promise<Json> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 201 })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  return JSON.parse(text) as Json
}

/** The registration as the harness's client, for the flows of the harness. */
export function asTestClient(registered: Json): TestClient {
  return {
    clientId: String(registered.client_id),
    secret: typeof registered.client_secret === 'string' ? registered.client_secret : null,
    redirectUri: (registered.redirect_uris as string[])[0] ?? '',
    // The harness reads only the id, secret and redirect URI of a client it did not make.
    record: undefined as never,
  }
}
