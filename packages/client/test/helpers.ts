/** Builds an `OAuthClient` wired to a `FakeAuthorizationServer`, and logs a user in through it. */
import { OAuthClient } from '../src/client.js'
import type { ClientOptions } from '../src/config/options.js'
import type { CallbackResult } from '../src/callback/handle-callback.js'
import { CLIENT_ID, CLIENT_SECRET, FakeAuthorizationServer, ISSUER, REDIRECT_URI } from './fake-as.js'

export function clientFor(fake: FakeAuthorizationServer, options: Partial<ClientOptions> = {}): OAuthClient {
  return new OAuthClient({
    server: { kind: 'discovery', issuer: ISSUER },
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    scope: 'openid profile',
    now: () => fake.now,
    fetch: fake.fetch,
    refreshLockPollMs: 2,
    ...options,
  })
}

/** A whole login: authorization URL, the fake server's redirect, the callback. */
export async function login(fake: FakeAuthorizationServer, client: OAuthClient): Promise<CallbackResult> {
  const { url, loginId } = await client.buildAuthorizationUrl()
  return client.handleCallback({ loginId, url: fake.authorize(url) })
}
