import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { loadConfig } from '../config/load.js'
import { registerClient } from '../protocol/clients.js'
import { webOriginsOf } from '../http/cors.js'
import { isBrowserClient } from '../protocol/clients.js'
import {
  DEMO_BACKCHANNEL_LOGOUT_URI,
  DEMO_CLIENT_ID,
  DEMO_POST_LOGOUT_REDIRECT_URI,
  DEMO_REDIRECT_URI,
  DEMO_SPA_CLIENT_ID,
  DEMO_SPA_POST_LOGOUT_REDIRECT_URI,
  DEMO_SPA_REDIRECT_URI,
  ensureDemo,
} from './demo.js'

const NOW = 1_700_000_000
const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function demoConfig() {
  const dir = await mkdtemp(join(tmpdir(), 'authcode-demo-'))
  dirs.push(dir)
  return loadConfig({ db: `sqlite:${join(dir, 'authcode.db')}` }, { AUTHCODE_DATA_DIR: join(dir, 'data') }, dir)
}

describe('the demo client (npm start)', () => {
  it('is registered with the demo app\'s post-logout and back-channel logout URIs, and demo.json names the post-logout one', async () => {
    const config = await demoConfig()
    const store = new MemoryStore()
    const demo = await ensureDemo(store, config, NOW)
    expect(await store.getClient(DEMO_CLIENT_ID)).toMatchObject({
      redirectUris: [DEMO_REDIRECT_URI],
      postLogoutRedirectUris: [DEMO_POST_LOGOUT_REDIRECT_URI],
      backchannelLogoutUri: DEMO_BACKCHANNEL_LOGOUT_URI,
    })
    expect(demo.post_logout_redirect_uri).toBe(DEMO_POST_LOGOUT_REDIRECT_URI)
    const saved = JSON.parse(await readFile(join(config.dataDir, 'demo.json'), 'utf8')) as Record<string, unknown>
    expect(saved).toMatchObject({ client_id: DEMO_CLIENT_ID, post_logout_redirect_uri: DEMO_POST_LOGOUT_REDIRECT_URI })
  })

  it('registers the single-page app of examples/spa once: a public browser client whose page origin may call the token endpoint', async () => {
    const config = await demoConfig()
    const store = new MemoryStore()
    await ensureDemo(store, config, NOW)
    const spa = await store.getClient(DEMO_SPA_CLIENT_ID)
    expect(spa).toMatchObject({
      tokenEndpointAuthMethod: 'none',
      secretHash: null,
      redirectUris: [DEMO_SPA_REDIRECT_URI],
      postLogoutRedirectUris: [DEMO_SPA_POST_LOGOUT_REDIRECT_URI],
      scopes: ['openid', 'profile', 'email'],
    })
    expect(spa && webOriginsOf(spa)).toEqual(['http://localhost:8090'])
    expect(spa && isBrowserClient(spa)).toBe(true)
    await store.updateClient(DEMO_SPA_CLIENT_ID, { name: 'Renamed by its admin' })
    await ensureDemo(store, config, NOW + 60)
    expect((await store.getClient(DEMO_SPA_CLIENT_ID))?.name).toBe('Renamed by its admin')
    const saved = await readFile(join(config.dataDir, 'demo.json'), 'utf8')
    expect(saved).not.toContain(DEMO_SPA_CLIENT_ID)
  })

  it('a demo client registered before logout was offered gets the logout URIs at the next start, its own kept', async () => {
    const config = await demoConfig()
    const store = new MemoryStore()
    const { record } = registerClient(
      { clientId: DEMO_CLIENT_ID, name: 'authcode demo app', redirectUris: [DEMO_REDIRECT_URI], scope: 'openid', isPublic: false, postLogoutRedirectUris: ['http://localhost:3000/bye'] },
      Object.keys(config.scopes),
      NOW,
    )
    await store.createClient(record)
    await ensureDemo(store, config, NOW)
    expect(await store.getClient(DEMO_CLIENT_ID)).toMatchObject({
      postLogoutRedirectUris: ['http://localhost:3000/bye', DEMO_POST_LOGOUT_REDIRECT_URI],
      backchannelLogoutUri: DEMO_BACKCHANNEL_LOGOUT_URI,
      secretHash: record.secretHash,
    })
  })
})
