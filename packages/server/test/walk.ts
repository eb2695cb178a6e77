/**
 * Walks a full authorization URL (as a relying party or a test built it) through the login and
 * consent pages, like harness `authorize` but for any server address: used against the harness
 * server with URLs built by openid-client, and against `authcode serve` started by the CLI tests.
 */
import { Browser, hiddenInput, locationOf } from './harness.js'

/**
 * Follows redirects on `base` and fills the login form (`user`) and the consent form (approve)
 * until the server redirects elsewhere; returns that URL, the callback. `onPage` sees each page
 * whose form it fills, before it is sent (for a test that checks what the page showed). Throws when
 * the flow stops at a page without a form or an error status.
 */
export async function walkAuthorization(
  base: string,
  authorizationUrl: string,
  user: { username: string; password: string },
  browser: Browser = new Browser(),
  onPage: (html: string, form: 'login' | 'consent') => void = () => {},
): Promise<URL> {
  let response = await browser.get(authorizationUrl)
  for (let step = 0; step < 10; step++) {
    if (response.status >= 300 && response.status < 400) {
      const next = locationOf(response, base)
      if (!next.startsWith(`${base}/`)) return new URL(next)
      response = await browser.get(next)
      continue
    }
    const html = await response.text()
    if (response.status !== 200) throw new Error(`authorization stopped at ${response.status}: ${html.slice(0, 300)}`)
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
    if (action === undefined) throw new Error(`no form on the page: ${html.slice(0, 300)}`)
    const csrf = hiddenInput(html, 'csrf')
    const login = action.endsWith('/login')
    onPage(html, login ? 'login' : 'consent')
    const form: Record<string, string> = login ? { csrf, username: user.username, password: user.password } : { csrf, decision: 'approve' }
    response = await browser.post(new URL(action, base).href, form)
  }
  throw new Error('authorization did not finish in 10 steps')
}
