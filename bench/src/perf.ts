/**
 * An on-CPU profile of a server process with Linux `perf` (Debian's linux-perf), per thread.
 *
 * V8's `--cpu-prof` samples the event loop on a wall clock: when the thread is descheduled (two
 * cores shared by the server's threads and the load generator) the sample still lands on the
 * function it was in, so handing work to another thread looks expensive exactly when it wakes that
 * thread. `perf` counts only time on a CPU and sees native frames (SQLite, OpenSSL, the kernel);
 * the server runs with `--perf-basic-prof` so JavaScript frames have names. Those names come from a
 * map of JIT code addresses that V8 never takes back: code collected after start-up can leave its
 * addresses to later code under the old name (module loading showing up in the steady state).
 */
import { spawn, spawnSync } from 'node:child_process'

/** Whether `perf` can record here. */
export function perfAvailable(): boolean {
  return spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0
}

/** Records `pid` (every thread, call graphs) for `seconds` into `file`; resolves when done. */
export function recordOnCpu(pid: number, seconds: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('perf', ['record', '-F', '1999', '-g', '-p', String(pid), '-o', file, '--', 'sleep', String(seconds)], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited ${String(code)}`))))
  })
}

type Stack = string[]

/** Call stacks (innermost frame first) of thread `tid`, from `perf script`. */
function stacksOf(file: string, tid: number): Stack[] {
  const out = spawnSync('perf', ['script', '-i', file, '--tid', String(tid), '-F', 'tid,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 })
  if (out.status !== 0) throw new Error(`perf script failed: ${out.stderr}`)
  const stacks: Stack[] = []
  let current: Stack = []
  for (const line of out.stdout.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '') {
      if (current.length > 0) stacks.push(current)
      current = []
    } else if (/^\d+\s*$/.test(trimmed)) {
      current = [] // the sample's header line: its thread id
    } else {
      current.push(trimmed.split(/\s+/).slice(1).join(' '))
    }
  }
  if (current.length > 0) stacks.push(current)
  return stacks
}

/** Samples per thread id of the recording. */
function samplesPerThread(file: string): Map<number, number> {
  const out = spawnSync('perf', ['report', '-i', file, '--no-children', '--sort', 'pid', '--stdio', '-g', 'none'], { encoding: 'utf8', maxBuffer: 1 << 26 })
  const threads = new Map<number, number>()
  for (const match of out.stdout.matchAll(/^\s*([\d.]+)%\s+(\d+):/gm)) threads.set(Number(match[2]), Number(match[1]))
  return threads
}

const shortName = (frame: string) =>
  frame
    .replace(/^JS:[*~^]?/, '')
    .replace(/(file:\/\/)?\/\S*?\/(node_modules\/|packages\/)/, '$2')
    .trim()

/**
 * A text summary: each thread's share of the samples, then the event loop's (`pid`'s main thread)
 * time by the innermost JavaScript function on the stack (native work such as SQLite or a syscall
 * counts for the JavaScript that called it).
 */
export function summarizeOnCpu(file: string, pid: number, limit = 30): string {
  const threads = samplesPerThread(file)
  const stacks = stacksOf(file, pid)
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  for (const stack of stacks) {
    const js = stack.find((frame) => frame.startsWith('JS:'))
    const name = js === undefined ? `(no JavaScript) ${stack.some((f) => f.includes('uv__io_poll')) ? 'event loop, I/O' : (stack[0] ?? '?')}` : shortName(js)
    byFunction.set(name, (byFunction.get(name) ?? 0) + 1)
    const where = js === undefined ? name : name.replace(/:\d+:\d+$/, '').replace(/^\S+ /, '')
    byFile.set(where, (byFile.get(where) ?? 0) + 1)
  }
  const percent = (n: number) => `${((100 * n) / Math.max(stacks.length, 1)).toFixed(1).padStart(5)}%`
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([k, n]) => `  ${percent(n)}  ${k}`)
  return [
    'samples per thread (% of the process; the event loop is the thread whose id is the pid):',
    ...[...threads].map(([tid, share]) => `  ${share.toFixed(1).padStart(5)}%  ${tid === pid ? 'event loop' : `thread ${tid}`}`),
    '',
    `event loop (${stacks.length} samples), by innermost JavaScript file:`,
    ...top(byFile),
    '',
    'event loop, by innermost JavaScript function:',
    ...top(byFunction),
  ].join('\n')
}
