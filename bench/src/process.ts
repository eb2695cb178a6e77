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

/** CPU ticks of a local PostgreSQL server's processes at one moment (see `postgresCpuBetween`). */
export interface PostgresCpuSnapshot {
  /** utime + stime of each process counted, by pid. */
  processes: Map<number, number>
  /** The postmaster's cutime + cstime: the CPU of its children that have exited. */
  exitedChildren: number
}

// /proc/<pid>/stat fields 16 and 17 (cutime, cstime): children waited for.
function childTicks(path: string): number {
  const stat = readFileSync(path, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[13]) + Number(fields[14])
}

/**
 * The CPU ticks of a local PostgreSQL server's processes that work for `database`: the postmaster
 * and its background processes (WAL writer, checkpointer, …; they serve every database) and the
 * backends and autovacuum workers of `database` (the process title `postgres: <cluster>: <user>
 * <db> <host>(<port>) <state>` names it); backends of other databases are left out. Undefined when
 * no `postgres` process is visible (a server on another machine or in another PID namespace).
 */
export function postgresCpuSnapshot(database: string): PostgresCpuSnapshot | undefined {
  const processes = new Map<number, number>()
  let exitedChildren = 0
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
      const backend = /^postgres: [^:]+: (\S+) (\S+) (\S+\(\d+\)|\[local\])/.exec(title) ?? /^postgres: [^:]+: autovacuum worker (\S+)()/.exec(title)
      const db = backend === null ? undefined : backend[0].includes('autovacuum worker') ? backend[1] : backend[2]
      if (db !== undefined && db !== database) continue
      processes.set(Number(pid), procTicks(`/proc/${pid}/stat`))
      if (!title.startsWith('postgres:')) exitedChildren += childTicks(`/proc/${pid}/stat`)
    } catch {
      // the process ended meanwhile
    }
  }
  return processes.size === 0 ? undefined : { processes, exitedChildren }
}

/**
 * PostgreSQL's CPU time between two snapshots, in microseconds: each process's growth (all of it for
 * one that started meanwhile), plus what the postmaster's children that exited meanwhile used (a
 * pool closing idle connections, autovacuum workers). That last part also holds other databases'
 * connections that ended, so on a shared cluster it counts their work too.
 */
export function postgresCpuBetween(before: PostgresCpuSnapshot, after: PostgresCpuSnapshot): number {
  let ticks = after.exitedChildren - before.exitedChildren
  for (const [pid, t] of after.processes) ticks += t - (before.processes.get(pid) ?? 0)
  return ticks * TICK_US
}
