#!/usr/bin/env node
/**
 * `npm start`: the authorization server (demo mode: a demo user, the `demo-app` client and the
 * public `demo-spa` client), the demo client app, the example chat broker, the single-page app
 * (examples/spa, on :8090) and the example MCP server (examples/mcp-server, on :3001/mcp) beside
 * it, so a newcomer can click through the whole handshake, chat through the broker with the token
 * the demo app holds, sign in from a page with no backend, and connect an MCP host (the demo
 * config lists the MCP server in `resources` and opens dynamic client registration).
 *
 * Starts `node packages/server/dist/cli/main.js serve --demo --config examples/express-app/authcode.json`
 * (run `tsc --build` first; the config adds the chat scopes `read:messages` / `write:messages`, the
 * MCP server's `mcp:tools` / `notes:write` and its resource, and `registration: open`),
 * waits for its start line and `data/demo.json`, then starts examples/express-app and
 * examples/broker (on :8080, as its AsyncAPI document says) and examples/spa (on :8090, the
 * origin of demo-spa's redirect URI; SPA_PORT) with the issuer the server announced.
 * Log lines of all four are forwarded with a prefix (announcements as they are); SIGINT/SIGTERM
 * stops all; when one exits, the others are stopped too. Arguments after `--` go to `serve`
 * (e.g. `-- --port 4001`; a `--config` there replaces the demo's).
 * Nothing here prints a secret: the server prints the demo login itself; the client secret stays
 * in data/demo.json.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SERVER_MAIN = join(ROOT, 'packages/server/dist/cli/main.js')
const APP_DIR = join(ROOT, 'examples/express-app')
const BROKER_DIR = join(ROOT, 'examples/broker')
const DEMO_CONFIG = join(APP_DIR, 'authcode.json')
const BROKER_PORT = process.env.BROKER_PORT ?? '8080'
const SPA_DIR = join(ROOT, 'examples/spa')
const SPA_PORT = process.env.SPA_PORT ?? '8090'
const MCP_DIR = join(ROOT, 'examples/mcp-server')
// The MCP server's resource URI is in the demo config's `resources`: another port needs both changed.
const MCP_PORT = process.env.MCP_PORT ?? '3001'
const DEMO_FILE = process.env.AUTHCODE_DEMO_FILE ?? join(ROOT, 'data/demo.json')
const START_TIMEOUT_MS = 30_000

/** @type {import('node:child_process').ChildProcess[]} */
const children = []
let stopping = false

function say(line) {
  process.stdout.write(`[start] ${line}\n`)
}

/** Forwards each line of a child's output with a prefix; calls `onLine` on stdout lines. */
function forward(child, prefix, onLine) {
  createInterface({ input: child.stdout }).on('line', (line) => {
    // The announcements (URLs, the demo login) stay as the server prints them, so that
    // `demo login: <username> / <password>` is a line of its own; JSON log lines get the prefix.
    process.stdout.write(line.startsWith('{') ? `${prefix} ${line}\n` : `${line}\n`)
    onLine?.(line)
  })
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${prefix} ${line}\n`))
}

function start(name, args, options) {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1)
    if (!stopping) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping`)
      stop(code === 0 || code === null ? 1 : code)
    } else if (children.length === 0) {
      process.exit(process.exitCode ?? 0)
    }
  })
  return child
}

function stop(code = 0) {
  if (stopping) return
  stopping = true
  process.exitCode = code
  if (children.length === 0) process.exit(code)
  for (const child of children) child.kill('SIGTERM')
  // A child that does not stop in time is killed.
  setTimeout(() => {
    for (const child of children) child.kill('SIGKILL')
    process.exit(code === 0 ? 1 : code)
  }, 10_000).unref()
}

process.once('SIGINT', () => stop(0))
process.once('SIGTERM', () => stop(0))

if (!existsSync(SERVER_MAIN)) {
  say(`${SERVER_MAIN} is missing: run \`npx tsc --build\` first`)
  process.exit(1)
}

const serveArgs = process.argv.slice(2)
if (!serveArgs.some((arg) => arg === '--config' || arg.startsWith('--config='))) serveArgs.push('--config', DEMO_CONFIG)
const server = start('the authorization server', [SERVER_MAIN, 'serve', '--demo', ...serveArgs], { cwd: ROOT, env: process.env })

const timer = setTimeout(() => {
  say(`the server did not announce itself within ${START_TIMEOUT_MS / 1000} s; stopping`)
  stop(1)
}, START_TIMEOUT_MS)

let appStarted = false
forward(server, '[server]', (line) => {
  const match = /^authcode authorization server on (\S+) \(issuer (\S+)\)/.exec(line)
  if (match === null || appStarted) return
  appStarted = true
  clearTimeout(timer)
  const [, serverUrl, issuer] = match
  if (!existsSync(DEMO_FILE)) {
    say(`${DEMO_FILE} is missing after the demo start; stopping`)
    stop(1)
    return
  }
  let appUrl
  let brokerUrl
  let spaUrl
  let mcpUrl
  const announce = () => {
    if (appUrl === undefined || brokerUrl === undefined || spaUrl === undefined || mcpUrl === undefined) return
    say(`authorization server: ${serverUrl}`)
    say(`chat broker:          ${brokerUrl}`)
    say(`single-page app:      ${spaUrl}  (a public client in the browser, no backend)`)
    say(`MCP server:           ${mcpUrl}  (add it to an MCP host: examples/mcp-server/README.md)`)
    say(`demo app:             ${appUrl}  <- open this and click "Log in"`)
    say('Ctrl-C stops all five.')
  }
  // The MCP server takes tokens for its own resource only (RFC 8707); MCP hosts register themselves.
  const mcp = start('the MCP server', ['--import', 'tsx', 'src/main.ts'], {
    cwd: MCP_DIR,
    env: { ...process.env, MCP_ISSUER: issuer, MCP_PORT },
  })
  forward(mcp, '[mcp]   ', (mcpLine) => {
    const mcpMatch = /^MCP server on (\S+)/.exec(mcpLine)
    if (mcpMatch === null) return
    mcpUrl = mcpMatch[1]
    announce()
  })
  // The single-page app calls the server from its own origin: demo mode registered demo-spa with
  // the redirect URI http://localhost:8090/, whose origin the server lets call /token (CORS).
  if (SPA_PORT !== '8090') say(`SPA_PORT=${SPA_PORT}: register http://localhost:${SPA_PORT}/ as a redirect URI of demo-spa (authcode client update)`)
  const spa = start('the single-page app', [join(SPA_DIR, 'src/serve.mjs')], {
    cwd: SPA_DIR,
    env: { ...process.env, SPA_ISSUER: issuer, SPA_PORT, SPA_CLIENT_ID: process.env.SPA_CLIENT_ID ?? 'demo-spa' },
  })
  forward(spa, '[spa]   ', (spaLine) => {
    const spaMatch = /^authcode single-page app on (\S+)/.exec(spaLine)
    if (spaMatch === null) return
    spaUrl = spaMatch[1]
    announce()
  })
  // The broker verifies the demo app's access tokens: the server's issuer, its JWKS, and the
  // server's default access-token audience (the issuer).
  const broker = start('the chat broker', ['--import', 'tsx', 'src/main.ts'], {
    cwd: BROKER_DIR,
    env: { ...process.env, BROKER_ISSUER: issuer, BROKER_AUDIENCE: process.env.BROKER_AUDIENCE ?? issuer, PORT: BROKER_PORT },
  })
  forward(broker, '[broker]', (brokerLine) => {
    const brokerMatch = /^chat broker on (\S+)/.exec(brokerLine)
    if (brokerMatch === null) return
    brokerUrl = brokerMatch[1]
    announce()
  })
  const app = start('the demo app', ['--import', 'tsx', 'src/main.ts'], {
    cwd: APP_DIR,
    env: { ...process.env, AUTHCODE_ISSUER: issuer, AUTHCODE_DEMO_FILE: DEMO_FILE, CHAT_BROKER_URL: process.env.CHAT_BROKER_URL ?? `ws://localhost:${BROKER_PORT}` },
  })
  forward(app, '[app]   ', (appLine) => {
    const appMatch = /^authcode demo app on (\S+)/.exec(appLine)
    if (appMatch === null) return
    appUrl = appMatch[1]
    announce()
  })
})
