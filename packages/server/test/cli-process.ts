/** Running the built `authcode` CLI as a child process, the way a user's shell would. */
import { spawn } from 'node:child_process'
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
