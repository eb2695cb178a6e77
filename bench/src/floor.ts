/** The parent's handle on the floor server (floor-process.ts); codes are written into its SQLite file. */
import { fork, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { freePort, stopChild, waitReady } from './process.js'

const SCRIPT = fileURLToPath(new URL('./floor-process.ts', import.meta.url))

export class FloorServer {
  readonly url: string
  readonly mode: 'sync' | 'pool'
  readonly #child: ChildProcess
  readonly #dbPath: string

  get pid(): number | undefined {
    return this.#child.pid
  }

  private constructor(url: string, mode: 'sync' | 'pool', child: ChildProcess, dbPath: string) {
    this.url = url
    this.mode = mode
    this.#child = child
    this.#dbPath = dbPath
  }

  static async start(dir: string, mode: 'sync' | 'pool'): Promise<FloorServer> {
    const port = await freePort()
    const dbPath = join(dir, `floor-${mode}.db`)
    const child = fork(SCRIPT, [String(port), dbPath, mode], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
    const url = `http://127.0.0.1:${port}`
    try {
      await waitReady(url, child)
    } catch (error) {
      child.kill('SIGKILL')
      throw error
    }
    return new FloorServer(url, mode, child, dbPath)
  }

  mintCodes(n: number): string[] {
    const db = new Database(this.#dbPath)
    db.pragma('busy_timeout = 10000')
    const insert = db.prepare('INSERT INTO codes (code_hash, user_id) VALUES (?, ?)')
    const codes: string[] = []
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const code = randomBytes(32).toString('base64url')
        insert.run(createHash('sha256').update(code).digest('base64url'), 'floor-user')
        codes.push(code)
      }
    })()
    db.close()
    return codes
  }

  async stop(): Promise<void> {
    await stopChild(this.#child)
  }
}
