/** Child-process helpers shared by the server handles: free ports, readiness, clean stops, CPU time. */
import { type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Polls `url` until it answers 200, the child exits, or `timeoutMs` passes. */
export async function waitReady(url: string, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited: number | null | undefined
  child.once('exit', (code) => {
    exited = code
  })
  for (;;) {
    if (exited !== undefined) throw new Error(`server exited (${String(exited)}) before it was ready: ${url}`)
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not ready after ${timeoutMs} ms: ${url}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`
}

/** CPU time a process has used so far, in microseconds: its main thread and the whole process. */
export interface CpuTime {
  main: number
  total: number
}

// /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks; the comm field may hold spaces.
function procTicks(path: string): number {
  const stat = readFileSync(path, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

const TICK_US = 1e6 / 100 // USER_HZ is 100 on Linux

/** Reads the CPU time of `pid` (Linux /proc); undefined where /proc is not available. */
export function cpuTime(pid: number | undefined): CpuTime | undefined {
  if (pid === undefined) return undefined
  try {
    return { main: procTicks(`/proc/${pid}/task/${pid}/stat`) * TICK_US, total: procTicks(`/proc/${pid}/stat`) * TICK_US }
  } catch {
    return undefined
  }
}

/** The summed CPU time of several processes (e.g. every instance of a server); undefined if one cannot be read. */
export function cpuTimeOf(pids: number[]): CpuTime | undefined {
  let main = 0
  let total = 0
  for (const pid of pids) {
    const t = cpuTime(pid)
    if (t === undefined) return undefined
    main += t.main
    total += t.total
  }
  return { main, total }
}

/**
 * CPU time, in microseconds, of a local PostgreSQL server's processes that work for `database`: the
 * postmaster and its background processes (WAL writer, checkpointer, …; they serve every database)
 * and the backends connected to `database` (the process title `postgres: <cluster>: <user> <db>
 * <host>(<port>) <state>` names it), summed from /proc/<pid>/stat (utime + stime). Backends of other
 * databases are left out; the background processes' share of them is not. Undefined when no
 * `postgres` process is visible (a server on another machine or in another PID namespace).
 */
export function postgresCpuTime(database: string): number | undefined {
  let total = 0
  let seen = false
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e))
  } catch {
    return undefined
  }
  for (const pid of entries) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
      const backend = /^postgres: [^:]+: (\S+) (\S+) (\S+\(\d+\)|\[local\])/.exec(title)
      if (backend !== null && backend[2] !== database) continue
      total += procTicks(`/proc/${pid}/stat`) * TICK_US
      seen = true
    } catch {
      // the process ended meanwhile
    }
  }
  return seen ? total : undefined
}
