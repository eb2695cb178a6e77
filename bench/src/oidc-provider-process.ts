/**
 * oidc-provider 9 configured as close to authcode as it allows, in its own process (forked by
 * oidc-provider.ts):
 * - two confidential clients with client_secret_basic, ID tokens ES256 and RS256;
 * - PKCE (S256 only, the default methods) required for every client;
 * - JWT access tokens (ES256, 600 s) through a resource indicator that every grant carries;
 * - refresh tokens always issued, rotated on every use;
 * - introspection and revocation on.
 * Storage is oidc-provider's own in-memory adapter, with an LRU big enough to hold everything the
 * benchmark mints (the default LRU keeps 1,000 entries and would evict pre-minted codes).
 * Signed-in users are created through its models on request over IPC: per user a `Grant` and a
 * `Session` (accountId, loginTs, and that grant as the client's remembered authorization, which the
 * default `loadExistingGrant` finds), answered with the signed session cookies a browser would hold.
 * The bench then mints codes and refresh tokens through the front channel with those cookies.
 */
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import Provider from 'oidc-provider'
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js'
import LRU from 'oidc-provider/lib/helpers/lru.js'

const port = Number(process.argv[2])
const issuer = `http://127.0.0.1:${port}`
const RESOURCE = 'https://api.bench.test'
const REDIRECT_URI = 'https://rp.bench.test/cb'

function jwk(type: 'rsa' | 'ec', kid: string, alg: string) {
  const { privateKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
}

const storage = new LRU({ maxSize: 50_000_000 })
const COOKIE_KEY = 'bench cookie key 0123456789abcdef'
const secrets = { es: 'bench-secret-es256-0123456789abcdefghij', rs: 'bench-secret-rs256-0123456789abcdefghij' }

const provider = new Provider(issuer, {
  adapter: (name: string) => new MemoryAdapter(name, storage),
  clients: (
    [
      { alg: 'ES256', id: 'bench-es256', secret: secrets.es },
      { alg: 'RS256', id: 'bench-rs256', secret: secrets.rs },
    ] as const
  ).map(({ alg, id, secret }) => ({
    client_id: id,
    client_secret: secret,
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: alg,
  })),
  jwks: { keys: [jwk('rsa', 'rs', 'RS256'), jwk('ec', 'es', 'ES256')] },
  cookies: { keys: [COOKIE_KEY] },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'api',
        audience: RESOURCE,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: { AccessToken: 600, AuthorizationCode: 600, IdToken: 3600, RefreshToken: 14 * 86_400, Grant: 30 * 86_400, Session: 86_400, Interaction: 900 },
})

async function newGrant(clientId: string, accountId: string): Promise<string> {
  const grant = new provider.Grant({ accountId, clientId })
  grant.addOIDCScope('openid profile email offline_access')
  grant.addResourceScope(RESOURCE, 'api')
  return grant.save()
}

/**
 * The signature cookie oidc-provider expects beside a signed cookie: koa's `cookies` signs
 * `name=value` with keygrip, HMAC-SHA1 under the first key, base64url without padding.
 */
function signedCookie(name: string, value: string): string {
  const signature = createHmac('sha1', COOKIE_KEY).update(`${name}=${value}`).digest('base64url')
  return `${name}=${value}; ${name}.sig=${signature}`
}

/**
 * `n` users signed in with a remembered grant for `clientId`; answers each user's `Cookie` header.
 * Each user has their own account id, grant and session (no single hot entry).
 */
async function loginSessions(clientId: string, n: number): Promise<string[]> {
  const out: string[] = []
  const loginTs = Math.floor(Date.now() / 1000)
  const name = provider.cookieName('session')
  for (let i = 0; i < n; i++) {
    const accountId = `bench-flow-${randomUUID()}`
    const grantId = await newGrant(clientId, accountId)
    const session = new provider.Session()
    session.loginAccount({ accountId, loginTs })
    session.ensureClientContainer(clientId)
    session.grantIdFor(clientId, grantId)
    await session.save(86_400)
    // The cookie carries `session.id`, which is its `jti`.
    out.push(signedCookie(name, session.jti))
  }
  return out
}

export interface MintRequest {
  id: number
  kind: 'sessions'
  clientId: string
  n: number
}

process.on('message', (message: MintRequest) => {
  loginSessions(message.clientId, message.n).then(
    (values) => process.send?.({ id: message.id, values }),
    (error: unknown) => process.send?.({ id: message.id, error: String(error) }),
  )
})

provider.on('server_error', (_ctx: unknown, error: Error) => console.error('oidc-provider server_error', error))
createServer(provider.callback()).listen(port, '127.0.0.1', () => process.send?.({ ready: true, id: randomUUID() }))
process.once('SIGTERM', () => process.exit(0))
