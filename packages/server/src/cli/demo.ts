/**
 * The demo user and demo client that `npm start` creates when absent, so that a newcomer can sign
 * in at once. Their generated credentials are kept in `dataDir/demo.json` (mode 0600) so that every
 * start can print them again; nothing else is ever stored in clear.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ServerConfig } from '../config/load.js'
import { registerClient } from '../protocol/clients.js'
import type { Store } from '../protocol/store.js'
import { hashPassword, randomToken } from '../tokens/secrets.js'

export const DEMO_USERNAME = 'demo'
export const DEMO_CLIENT_ID = 'demo-app'
export const DEMO_REDIRECT_URI = 'http://localhost:3000/callback'
/** Where the server sends the browser back after the demo app's logout (RP-Initiated Logout): its "You are signed out". */
export const DEMO_POST_LOGOUT_REDIRECT_URI = 'http://localhost:3000/?signedOut=1'
/** Where the demo app receives logout tokens (Back-Channel Logout). */
export const DEMO_BACKCHANNEL_LOGOUT_URI = 'http://localhost:3000/backchannel-logout'
/** The single-page app of examples/spa: a public client whose page, at its redirect URI's origin, calls the server itself (CORS). */
export const DEMO_SPA_CLIENT_ID = 'demo-spa'
export const DEMO_SPA_REDIRECT_URI = 'http://localhost:8090/'
export const DEMO_SPA_POST_LOGOUT_REDIRECT_URI = 'http://localhost:8090/?signedOut=1'

export interface DemoCredentials {
  username: string
  password: string
  client_id: string
  client_secret: string
  redirect_uri: string
  post_logout_redirect_uri: string
}

function readDemoFile(path: string): Partial<DemoCredentials> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<DemoCredentials>
  } catch {
    return {}
  }
}

/** Creates what is missing; returns the credentials, or undefined parts when they were created elsewhere. */
export async function ensureDemo(store: Store, config: ServerConfig, now: number): Promise<Partial<DemoCredentials>> {
  const path = join(config.dataDir, 'demo.json')
  const saved = readDemoFile(path)
  const demo: Partial<DemoCredentials> = {
    username: DEMO_USERNAME,
    client_id: DEMO_CLIENT_ID,
    redirect_uri: DEMO_REDIRECT_URI,
    post_logout_redirect_uri: DEMO_POST_LOGOUT_REDIRECT_URI,
  }

  if ((await store.getUserByUsername(DEMO_USERNAME)) === undefined) {
    demo.password = randomToken().slice(0, 16)
    await store.createUser({
      id: randomUUID(),
      username: DEMO_USERNAME,
      passwordHash: await hashPassword(demo.password),
      name: 'Demo User',
      email: 'demo@example.com',
      emailVerified: true,
      createdAt: now,
      updatedAt: now,
      disabledAt: null,
    })
  } else if (saved.password !== undefined) {
    demo.password = saved.password
  }

  const existing = await store.getClient(DEMO_CLIENT_ID)
  if (existing === undefined) {
    const { record, secret } = registerClient(
      {
        clientId: DEMO_CLIENT_ID,
        name: 'authcode demo app',
        redirectUris: [DEMO_REDIRECT_URI],
        scope: Object.keys(config.scopes).join(' '),
        isPublic: false,
        postLogoutRedirectUris: [DEMO_POST_LOGOUT_REDIRECT_URI],
        backchannelLogoutUri: DEMO_BACKCHANNEL_LOGOUT_URI,
      },
      Object.keys(config.scopes),
      now,
    )
    await store.createClient(record)
    demo.client_secret = secret ?? undefined
  } else {
    // A demo client from before logout was offered: its logout URIs are added.
    if (!existing.postLogoutRedirectUris.includes(DEMO_POST_LOGOUT_REDIRECT_URI) || existing.backchannelLogoutUri === null) {
      await store.updateClient(DEMO_CLIENT_ID, {
        postLogoutRedirectUris: [...new Set([...existing.postLogoutRedirectUris, DEMO_POST_LOGOUT_REDIRECT_URI])],
        backchannelLogoutUri: existing.backchannelLogoutUri ?? DEMO_BACKCHANNEL_LOGOUT_URI,
      })
    }
    if (saved.client_secret !== undefined) demo.client_secret = saved.client_secret
  }

  // The single-page app's client has no secret: nothing of it goes to demo.json.
  if ((await store.getClient(DEMO_SPA_CLIENT_ID)) === undefined) {
    const { record } = registerClient(
      {
        clientId: DEMO_SPA_CLIENT_ID,
        name: 'authcode single-page app',
        redirectUris: [DEMO_SPA_REDIRECT_URI],
        scope: 'openid profile email',
        isPublic: true,
        postLogoutRedirectUris: [DEMO_SPA_POST_LOGOUT_REDIRECT_URI],
      },
      Object.keys(config.scopes),
      now,
    )
    await store.createClient(record)
  }

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  writeFileSync(path, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 })
  return demo
}
