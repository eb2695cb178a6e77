/**
 * A Redis server of the test's own: the `redis-server` binary on a free loopback port, without
 * persistence, that a test may stop and start again on the same port (the machine's Redis on 6379
 * is never touched). Tests skip with a message when the binary is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Socket } from 'node:net'
import { freePort } from '../../server/test/harness.js'

export const REDIS_SERVER = 'redis-server'
export const hasRedisServer = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0
export const NO_REDIS = `skipped: ${REDIS_SERVER} is not on the PATH (apt-get install redis-server)`

/** Whether something answers PING with PONG on the port. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let reply = ''
    const done = (value: boolean): void => {
      socket.destroy()
      resolve(value)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
  })
}

export class RedisServer {
  readonly port: number
  #child: ChildProcess | undefined
  #output = ''

  private constructor(port: number) {
    this.port = port
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts a server on a free port and waits until it answers. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.start()
    return server
  }

  /** (Re)starts the server on its port; resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.#child !== undefined) return
    const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#child = child
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.#output = (this.#output + chunk).slice(-4000)))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.#output = (this.#output + chunk).slice(-4000)))
    const deadline = Date.now() + 10_000
    while (!(await pong(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start:\n${this.#output}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** SIGKILL, synchronously: the last resort when the test process exits without cleaning up. */
  killNow(): void {
    this.#child?.kill('SIGKILL')
  }

  /** Stops this server (its own process only) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    this.#child = undefined
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}

const started = new Set<RedisServer>()

/** `RedisServer.start()`, remembered so that `stopAllRedis` (or process exit) ends it. */
export async function startRedis(): Promise<RedisServer> {
  const server = await RedisServer.start()
  started.add(server)
  return server
}

export async function stopAllRedis(): Promise<void> {
  await Promise.all([...started].map((server) => server.stop()))
  started.clear()
}

process.once('exit', () => {
  for (const server of started) server.killNow()
})
