/**
 * The two scripts of the passkey forms, served by the server itself so that the pages' CSP allows
 * `script-src 'self'` and nothing else (no inline script, no other origin): the single-file
 * bundle of `@simplewebauthn/browser` and `assets/passkeys.js`, which drives it from the forms'
 * data attributes. Read once at start; each URL carries a version of its content.
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { readStartFile } from './start-files.js'

/** The package's own script, beside `src/` and `dist/` alike. */
const PASSKEYS_SCRIPT = fileURLToPath(new URL('../../assets/passkeys.js', import.meta.url))

/** The browser library's bundle (the package exports only its modules: found from its entry point). */
function browserBundle(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser')
  return join(dirname(dirname(entry)), 'dist', 'bundle', 'index.umd.min.js')
}

/** Where each script is served, under the issuer's path. */
export const SCRIPT_PATHS = { webauthn: '/assets/webauthn.js', passkeys: '/assets/passkeys.js' } as const

interface Script {
  path: string
  body: Buffer
  url: string
}

export class PasskeyScripts {
  readonly #scripts: Script[]

  constructor(basePath: string) {
    const script = (path: string, file: string, setting: string): Script => {
      const body = readStartFile(file, setting)
      return { path, body, url: `${basePath}${path}?v=${createHash('sha256').update(body).digest('base64url').slice(0, 12)}` }
    }
    this.#scripts = [script(SCRIPT_PATHS.webauthn, browserBundle(), '@simplewebauthn/browser'), script(SCRIPT_PATHS.passkeys, PASSKEYS_SCRIPT, 'the passkeys script')]
  }

  /** The URLs a page with a passkey form loads, in order (the library first). */
  get urls(): string[] {
    return this.#scripts.map((script) => script.url)
  }

  serve(app: FastifyInstance): void {
    for (const { path, body } of this.#scripts) {
      app.get(path, async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(body))
    }
  }
}
