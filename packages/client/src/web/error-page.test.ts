/** The Web handler's pages on their own: status by where the failure came from, escaped text, no caching or framing. */
import { describe, expect, it } from 'vitest'
import { AuthorizationError, CallbackError, NetworkError, OAuthServerError } from '../errors.js'
import { crossOriginLogoutPage, errorPage } from './error-page.js'

describe('errorPage', () => {
  it('RFC 6749 §4.1.2.1: a denial is a 400 "cancelled" page; another error response names the error, escaped', async () => {
    const denied = errorPage(new AuthorizationError('access_denied', undefined))
    expect(denied.status).toBe(400)
    expect(await denied.text()).toContain('Sign-in cancelled')
    const other = errorPage(new AuthorizationError('invalid_scope', '<script>x</script>'))
    expect(other.status).toBe(400)
    const body = await other.text()
    expect(body).toContain('invalid_scope')
    expect(body).not.toContain('<script>')
  })

  it('what the browser brought (a bad callback, a used code) is 400; a back-channel failure 502; anything else a generic 502', async () => {
    expect(errorPage(new CallbackError('STATE_MISMATCH', 'state mismatch')).status).toBe(400)
    expect(errorPage(new OAuthServerError('invalid_grant', undefined, 400)).status).toBe(400)
    const network = errorPage(new NetworkError('https://as.test/token', true, undefined))
    expect(network.status).toBe(502)
    expect(await network.text()).toContain('NETWORK_ERROR')
    const unknown = errorPage(new Error('secret detail'))
    expect(unknown.status).toBe(502)
    expect(await unknown.text()).not.toContain('secret detail')
  })

  it('pages are not cached, framed or sniffed', () => {
    for (const page of [errorPage(new Error('x')), crossOriginLogoutPage()]) {
      expect(page.headers.get('cache-control')).toBe('no-store')
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    }
    expect(crossOriginLogoutPage().status).toBe(403)
  })
})
