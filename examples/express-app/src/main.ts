/**
 * Runs the demo app: `npm start` in this folder (or the root launcher, scripts/start.mjs).
 *
 * Configuration (environment):
 * - `AUTHCODE_DEMO_FILE`: the demo credentials the server writes at its demo start; default
 *   `data/demo.json` at the repository root (client_id, client_secret, redirect_uri).
 * - `AUTHCODE_ISSUER`: the authorization server; default `http://localhost:4000`.
 * - `PORT`: where to listen; default the redirect URI's port (3000 for the demo client).
 * - `HOST`: the address to bind; default every interface.
 * - `AUTHCODE_SCOPE`: the scopes the app asks for; default
 *   `openid profile email read:messages write:messages` (the chat scopes are for the broker).
 * - `CHAT_BROKER_URL`: the example chat broker (examples/broker); default `ws://localhost:8080`.
 * - `REDIS_URL`: keep pending logins and sessions in this Redis (e.g. `redis://127.0.0.1:6379`),
 *   so that several processes of the app behind one address share them; default in memory.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { RedisLoginStateStore, RedisTokenStore } from '@authcode/client/redis'
import { Redis } from 'ioredis'
import { createDemoApp, DEFAULT_SCOPE } from './app.js'

interface DemoFile {
  client_id?: unknown
  client_secret?: unknown
  redirect_uri?: unknown
  /** Written by a server that registers one for the demo client (RP-Initiated Logout). */
  post_logout_redirect_uri?: unknown
}

function fail(message: string): never {
  console.error(`demo app: ${message}`)
  process.exit(1)
}

const demoFile = process.env.AUTHCODE_DEMO_FILE ?? resolve(import.meta.dirname, '../../../data/demo.json')
let demo: DemoFile
try {
  demo = JSON.parse(readFileSync(demoFile, 'utf8')) as DemoFile
} catch (error) {
  fail(`cannot read ${demoFile} (${error instanceof Error ? error.message : 'unknown error'}); start the server with --demo first (npm start at the repository root)`)
}
const { client_id: clientId, client_secret: clientSecret, redirect_uri: redirectUri } = demo
if (typeof clientId !== 'string' || typeof redirectUri !== 'string') fail(`${demoFile} has no client_id or redirect_uri`)
if (typeof clientSecret !== 'string') fail(`${demoFile} has no client_secret (the demo client was registered elsewhere; delete it and restart the server with --demo)`)

const issuer = process.env.AUTHCODE_ISSUER ?? 'http://localhost:4000'
const redirect = new URL(redirectUri)
const port = Number(process.env.PORT ?? (redirect.port === '' ? 80 : redirect.port))
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('PORT must be a port number')
if (String(port) !== redirect.port) console.warn(`demo app: listening on ${port} but the redirect URI is ${redirectUri}`)

const scope = process.env.AUTHCODE_SCOPE ?? DEFAULT_SCOPE
const brokerUrl = process.env.CHAT_BROKER_URL ?? 'ws://localhost:8080'
if (!/^wss?:\/\//.test(brokerUrl)) fail('CHAT_BROKER_URL must be a ws:// or wss:// URL')
let stopping = false
const redisUrl = process.env.REDIS_URL
let redis: Redis | undefined
if (redisUrl !== undefined && redisUrl !== '') {
  if (!/^rediss?:\/\//.test(redisUrl)) fail('REDIS_URL must be a redis:// or rediss:// URL')
  // While Redis is away, ioredis reconnects on its own; the stores fail fast meanwhile. One log
  // line when it goes, one when it is back (never the URL: it may hold a password).
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  let down = false
  const lost = (why: string): void => {
    if (!down && !stopping) console.error(`demo app: Redis is unreachable (${why}); sign-in fails until it is back`)
    down = true
  }
  redis.on('error', (error: Error) => lost(error.message))
  redis.on('close', () => lost('connection closed'))
  redis.on('ready', () => {
    if (down) console.log('demo app: Redis is back')
    down = false
  })
}
const stores = redis === undefined ? {} : { loginStateStore: new RedisLoginStateStore(redis), tokenStore: new RedisTokenStore(redis) }
const postLogoutRedirectUri = typeof demo.post_logout_redirect_uri === 'string' ? { postLogoutRedirectUri: demo.post_logout_redirect_uri } : {}
const { app, chat } = createDemoApp({ issuer, clientId, clientSecret, redirectUri, scope, brokerUrl, ...postLogoutRedirectUri, ...stores })
const onListening = (): void => {
  console.log(`authcode demo app on ${redirect.origin}/ (client ${clientId}, issuer ${issuer}, chat broker ${brokerUrl}${redis === undefined ? '' : ', sessions in Redis'})`)
}
const host = process.env.HOST
const server = host === undefined ? app.listen(port, onListening) : app.listen(port, host, onListening)
server.on('error', (error) => fail(`cannot listen on ${port}: ${error.message}`))

function shutdown(): void {
  stopping = true
  chat.close()
  redis?.disconnect()
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
