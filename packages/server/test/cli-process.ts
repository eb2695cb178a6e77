/** Running the built `authcode` CLI as a child process, the way a user's shell would. */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built CLI entry point. */
export const MAIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'dist/cli/main.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment without any AUTHCODE_* variable of the machine running the tests, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('AUTHCODE_')) env[name] = value
  return { ...env, ...extra }
}

/** Runs `authcode ARGS` in `cwd` to completion, with `input` on standard input. */
export function runCli(cwd: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

/** How a child process ended. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A JSON log line of the server (pino): its level (30 info, 40 warn) and message; a test extends it with the fields it reads. */
export interface LogLine {
  level: number
  msg: string
}

/** `authcode serve` running as a child process, once it has announced itself. */
export interface Served {
  child: ChildProcess
  /** Everything printed on standard output (start lines and JSON log lines) so far. */
  stdout(): string
  stderr(): string
  /** The JSON log lines on standard output so far. */
  logs<Line extends LogLine = LogLine>(): Line[]
  /** Resolves once the process has exited and its output is all read. */
  exited: Promise<Exit>
  /** SIGTERM; resolves once the server is gone. */
  stop(): Promise<Exit>
}

/** The start line `serve` prints once it listens; with --demo the demo client line comes after it, last. */
const STARTED = /^authcode authorization server on /m
const DEMO_STARTED = /^demo client: /m

/**
 * Runs `authcode serve ARGS` in `cwd` and resolves once it has printed its start line (with
 * --demo: the demo client line, the last of its announcement). Rejects with its output if it
 * exits first, or kills it and rejects if it does not announce itself within `timeoutMs`.
 */
export async function startServe(cwd: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<Exit>((resolveExit) => child.on('close', (code, signal) => resolveExit({ code, signal })))
  const ready = args.includes('--demo') ? DEMO_STARTED : STARTED
  const timeoutMs = options.timeoutMs ?? 20_000
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`serve did not announce itself within ${timeoutMs} ms:\n${stdout}\n${stderr}`))
    }, timeoutMs)
    const check = () => {
      if (ready.test(stdout)) {
        clearTimeout(timer)
        child.stdout.off('data', check)
        resolveReady()
      }
    }
    child.stdout.on('data', check)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`serve exited (${code ?? signal}) before it was ready:\n${stdout}\n${stderr}`))
    })
  })
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: <Line extends LogLine = LogLine>() =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Line),
    exited,
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}
