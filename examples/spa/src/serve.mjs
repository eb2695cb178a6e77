#!/usr/bin/env node
/**
 * The single-page app's own web server: static files only, on an origin of its own (default
 * http://localhost:8090). No token ever passes through it: the page talks to the authorization
 * server directly (CORS for the client's web origins).
 *
 * - `/` the page, `/app.js` and `/style.css` its script and styles (no inline script: the CSP
 *   allows scripts from this origin only, and connections to this origin and the issuer's);
 * - `/vendor/oauth4webapi.js` the installed oauth4webapi build, served as a file;
 * - `/config.json` the issuer, the client id and the redirect URI, from the environment.
 *
 * Environment: SPA_PORT (8090), SPA_HOST (127.0.0.1), SPA_ISSUER (http://localhost:4000),
 * SPA_CLIENT_ID (demo-spa), SPA_URL (http://localhost:PORT, the page's origin; the redirect URI
 * is SPA_URL + '/').
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'public')
const port = Number(process.env.SPA_PORT ?? 8090)
const host = process.env.SPA_HOST ?? '127.0.0.1'
const issuer = process.env.SPA_ISSUER ?? 'http://localhost:4000'
const clientId = process.env.SPA_CLIENT_ID ?? 'demo-spa'
const origin = (process.env.SPA_URL ?? `http://localhost:${port}`).replace(/\/+$/, '')

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`SPA_PORT: a port number: ${process.env.SPA_PORT}\n`)
  process.exit(2)
}
let issuerOrigin
try {
  issuerOrigin = new URL(issuer).origin
} catch {
  process.stderr.write(`SPA_ISSUER: an absolute URL: ${issuer}\n`)
  process.exit(2)
}

const config = JSON.stringify({ issuer, clientId, redirectUri: `${origin}/`, postLogoutRedirectUri: `${origin}/?signedOut=1` })

/** Path → [file, content type]. Nothing else is served. */
const FILES = new Map([
  ['/', [join(PUBLIC, 'index.html'), 'text/html; charset=utf-8']],
  ['/app.js', [join(PUBLIC, 'app.js'), 'text/javascript; charset=utf-8']],
  ['/style.css', [join(PUBLIC, 'style.css'), 'text/css; charset=utf-8']],
  ['/vendor/oauth4webapi.js', [fileURLToPath(import.meta.resolve('oauth4webapi')), 'text/javascript; charset=utf-8']],
])

const SECURITY_HEADERS = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${issuerOrigin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The callback URL holds the code until the page removes it: never sent on as a Referer.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
}

const server = createServer(async (request, response) => {
  const path = new URL(request.url ?? '/', 'http://x').pathname
  const file = FILES.get(path)
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
    return
  }
  if (path === '/config.json') {
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json' }).end(request.method === 'HEAD' ? undefined : config)
    return
  }
  if (file === undefined) {
    response.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
    return
  }
  try {
    const body = await readFile(file[0])
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file[1] }).end(request.method === 'HEAD' ? undefined : body)
  } catch {
    response.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('unavailable\n')
  }
})

server.listen(port, host, () => {
  process.stdout.write(`authcode single-page app on ${origin} (client ${clientId}, issuer ${issuer})\n`)
})

for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)))
