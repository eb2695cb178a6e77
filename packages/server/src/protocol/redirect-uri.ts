/**
 * Redirect URIs: checked once at registration, then compared by exact string (RFC 9700 §2.1,
 * RFC 3986 §6.2.1 simple string comparison). The only exception: public native clients may use any
 * port on a loopback IP literal (RFC 8252 §7.3).
 */
import type { ClientRecord } from './store.js'

// A loopback redirect URI split into the parts that must match and the port that may vary.
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?(\/[^#]*)?$/

/**
 * Why a URI cannot be registered as a redirect URI, or undefined when it can.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1
 */
export function redirectUriProblem(uri: string, isPublic: boolean): string | undefined {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'is not an absolute URI'
  }
  if (uri.includes('#')) return 'must not contain a fragment (RFC 6749 §3.1.2)'
  if (uri.includes('*')) return 'must not contain wildcards'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\uffff\\]/.test(uri)) return 'must not contain spaces, control, non-ASCII characters or backslashes'
  if (url.username !== '' || url.password !== '') return 'must not contain credentials'
  if (url.protocol === 'https:') return undefined
  // http only on this machine: native apps (RFC 8252 §7.3) and web apps under development.
  if (url.protocol === 'http:') {
    if (LOOPBACK.test(uri) || url.hostname === 'localhost') return undefined
    return 'must use https (http only on localhost or a loopback IP, RFC 8252 §7.3)'
  }
  // RFC 8252 §7.1: private-use URI schemes of native apps are reverse domain names.
  if (/^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol)) {
    return isPublic ? undefined : 'private-use URI schemes are for public native clients'
  }
  return `scheme ${url.protocol} is not allowed`
}

/** True when `requested` is one of the client's registered redirect URIs, by the rules above. */
export function matchesRegisteredRedirectUri(client: ClientRecord, requested: string): boolean {
  if (client.redirectUris.includes(requested)) return true
  // RFC 8252 §7.3: any port, for native apps (public clients) only.
  if (client.tokenEndpointAuthMethod !== 'none') return false
  const want = LOOPBACK.exec(requested)
  if (want === null || Number(want[2] ?? 0) > 65535) return false
  return client.redirectUris.some((registered) => {
    const have = LOOPBACK.exec(registered)
    return have !== null && have[1] === want[1] && (have[3] ?? '') === (want[3] ?? '')
  })
}
