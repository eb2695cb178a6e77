/**
 * Requests and assertions shared by the back-channel HTTP tests (token, refresh, revocation,
 * introspection).
 */
import { expect } from 'vitest'
import { basicAuth, obtainTokens, postForm, type TestClient, type TestServer } from './harness.js'

export type Json = Record<string, unknown>
export type User = { username: string; password: string }

// RFC 6749 §5.2: error and error_description characters.
const ERROR_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/

/** Client authentication headers: Basic for a confidential client, none for a public one. */
export function clientAuthHeaders(client: TestClient): Record<string, string> {
  return client.secret === null ? {} : { authorization: basicAuth(client.clientId, client.secret) }
}

/** A form POST to `path` authenticated as `client` (public clients send client_id in the body). */
export function callAs(server: TestServer, path: string, client: TestClient, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  const body = client.secret === null ? { client_id: client.clientId, ...form } : form
  return postForm(`${server.url}${path}`, body, { ...clientAuthHeaders(client), ...headers })
}

export function refresh(server: TestServer, client: TestClient, refreshToken: string, extra: Record<string, string> = {}): Promise<Response> {
  return callAs(server, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra })
}

/** An introspection as `client`, asserting a 200 JSON `no-store` answer. */
export async function introspect(server: TestServer, client: TestClient, token: string, hint?: string): Promise<Json> {
  const response = await callAs(server, '/introspect', client, hint === undefined ? { token } : { token, token_type_hint: hint })
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 200 })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  return JSON.parse(text) as Json
}

export async function userinfoStatus(server: TestServer, accessToken: string): Promise<number> {
  return (await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })).status
}

/** Asserts a successful token response (RFC 6749 §5.1, with its cache headers) and returns it. */
export async function expectTokens(response: Response): Promise<Json> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 200 })
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  return JSON.parse(text) as Json
}

/** Asserts an RFC 6749 §5.2 error response and returns its body. */
export async function expectOAuthError(response: Response, status: number, error: string): Promise<Json> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  const body = JSON.parse(text) as Json
  expect(body.error).toBe(error)
  expect(String(body.error)).toMatch(ERROR_CHARSET)
  if (body.error_description !== undefined) expect(String(body.error_description)).toMatch(ERROR_CHARSET)
  for (const key of Object.keys(body)) expect(['error', 'error_description', 'error_uri']).toContain(key)
  if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"$/)
  return body
}

/** Login, consent and code exchange for a public client (client_id and PKCE only). */
export async function obtainPublicTokens(server: TestServer, client: TestClient, user: User): Promise<Json> {
  return (await obtainTokens(server, client, user)).tokens
}
