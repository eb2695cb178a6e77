/**
 * `authcode asyncapi check FILE`: what an AsyncAPI document says about its oauth2 authorization
 * code flows and the scopes each operation needs, and every problem with its JSON pointer.
 * Exit 1 when the official schema refuses the document or it cannot be read (missing, not AsyncAPI,
 * a `$ref` refused), else 0.
 */
import { AsyncApiError, checkDocument, loadDocument, type CheckResult } from '@authcode/asyncapi'
import { CommandError } from './args.js'
import type { Io } from './admin.js'

function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), [])
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
}

function render(file: string, result: CheckResult): string[] {
  const lines = [`${file}: AsyncAPI ${result.asyncapi}, ${result.valid ? 'valid' : 'INVALID'} against the official ${result.schemaVersion} schema`, '']
  lines.push(result.schemes.length === 0 ? 'No oauth2 scheme with an authorization code flow.' : 'Authorization code flows:')
  for (const scheme of result.schemes) {
    lines.push(`  ${scheme.name}${scheme.issuer === undefined ? '' : ` (x-issuer ${scheme.issuer})`}`)
    const urls = [['authorizationUrl', scheme.authorizationUrl], ['tokenUrl', scheme.tokenUrl]]
    if (scheme.refreshUrl !== undefined) urls.push(['refreshUrl', scheme.refreshUrl])
    lines.push(...table(urls).map((line) => `    ${line}`))
    lines.push(`    scopes:`)
    lines.push(...table(scheme.scopes.map((scope) => [scope.name, scope.description ?? '(no description)'])).map((line) => `      ${line}`))
  }
  if (result.operations.length > 0) {
    lines.push('', 'Operations and the scopes an access token must hold:')
    lines.push(...table(result.operations.map((op) => [op.id, op.action, op.scopes.length === 0 ? '(none)' : op.scopes.join(' ')])).map((line) => `  ${line}`))
  }
  if (result.problems.length > 0) {
    lines.push('', 'Problems:')
    for (const p of result.problems) {
      const where = p.line === undefined ? '' : ` (line ${p.line}:${p.column ?? 1})`
      lines.push(`  ${p.severity.padEnd(7)} ${p.code}  ${p.pointer === '' ? '/' : p.pointer}${where}: ${p.message}`)
    }
  }
  return lines
}

/** @returns the exit code */
export async function asyncapiCheck(file: string, json: boolean, io: Io): Promise<number> {
  let result: CheckResult
  try {
    result = checkDocument(await loadDocument(file))
  } catch (error) {
    // The call was right; the document is what failed: exit 1 without the usage pointer.
    if (error instanceof AsyncApiError) throw new CommandError(`${file}: ${error.message}`)
    throw error
  }
  if (json) io.out(JSON.stringify(result, null, 2))
  else for (const line of render(file, result)) io.out(line)
  return result.valid ? 0 : 1
}
