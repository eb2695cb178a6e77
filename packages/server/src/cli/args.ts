/** Command-line values to configuration flags, and the error for a wrong call. */
import type { ConfigFlags } from '../config/load.js'

/** A mistake in how a command was called; printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export function configFlags(values: {
  db?: string | boolean
  config?: string | boolean
  port?: string | boolean
  issuer?: string | boolean
  'trust-proxy'?: string | boolean
}): ConfigFlags {
  const flags: ConfigFlags = {}
  if (typeof values.db === 'string') flags.db = values.db
  if (typeof values.config === 'string') flags.config = values.config
  if (typeof values.issuer === 'string') flags.issuer = values.issuer
  // Checked with the other sources of the setting, in loadConfig.
  if (typeof values['trust-proxy'] === 'string') flags.trustProxy = values['trust-proxy']
  if (typeof values.port === 'string') {
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port: not a port number: ${values.port}`)
    flags.port = Number(values.port)
  }
  return flags
}
