/** The parent's handle on the oidc-provider process (oidc-provider-process.ts). */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { BenchClient } from './authcode.js'
import type { MintRequest } from './oidc-provider-process.js'
import { basicAuth, freePort, stopChild, waitReady } from './process.js'

const SCRIPT = fileURLToPath(new URL('./oidc-provider-process.ts', import.meta.url))

export class OidcProviderServer {
  readonly url: string
  readonly clients: Record<'ES256' | 'RS256', BenchClient> = {
    ES256: { clientId: 'bench-es256', secret: 'bench-secret-es256-0123456789abcdefghij', authorization: '' },
    RS256: { clientId: 'bench-rs256', secret: 'bench-secret-rs256-0123456789abcdefghij', authorization: '' },
  }
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve: (v: string[]) => void; reject: (e: Error) => void }>()
  #nextId = 1

  private constructor(url: string, child: ChildProcess) {
    this.url = url
    this.#child = child
    for (const c of Object.values(this.clients)) c.authorization = basicAuth(c.clientId, c.secret)
    child.on('message', (m: { id?: number; values?: string[]; error?: string }) => {
      const p = this.#pending.get(m.id ?? -1)
      if (p === undefined) return
      this.#pending.delete(m.id ?? -1)
      if (m.error !== undefined) p.reject(new Error(m.error))
      else p.resolve(m.values ?? [])
    })
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  static async start(): Promise<OidcProviderServer> {
    const port = await freePort()
    const child = fork(SCRIPT, [String(port)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    const url = `http://127.0.0.1:${port}`
    try {
      await waitReady(`${url}/.well-known/openid-configuration`, child)
    } catch (error) {
      child.kill('SIGKILL')
      throw error
    }
    return new OidcProviderServer(url, child)
  }

  #ask(request: Omit<MintRequest, 'id'>): Promise<string[]> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#child.send({ ...request, id } satisfies MintRequest)
    })
  }

  /** `n` users signed in with a remembered grant for `client`: each user's `Cookie` header. */
  loginSessions(client: BenchClient, n: number): Promise<string[]> {
    return this.#ask({ kind: 'sessions', clientId: client.clientId, n })
  }

  async stop(): Promise<void> {
    await stopChild(this.#child)
  }
}
