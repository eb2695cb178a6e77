/** Command-line values to configuration flags, and the error for a wrong call. */
import type { ConfigFlags } from '../config/load.js'

/** A mistake in how a command was called; printed with a pointer to the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** A well-formed command that could not be done (no such client, the user exists); exit code 1, no usage. */
export class CommandError extends Error {
  override readonly name = 'CommandError'
}

export function configFlags(values: {
  db?: string | boolean
  config?: string | boolean
  port?: string | boolean
  issuer?: string | boolean
  host?: string | boolean
  'trust-proxy'?: string | boolean
  'metrics-port'?: string | boolean
  'admin-port'?: string | boolean
}): ConfigFlags {
  const flags: ConfigFlags = {}
  if (typeof values.db === 'string') flags.db = values.db
  if (typeof values.config === 'string') flags.config = values.config
  if (typeof values.issuer === 'string') flags.issuer = values.issuer
  // Checked with the other sources of the setting, in loadConfig.
  if (typeof values['trust-proxy'] === 'string') flags.trustProxy = values['trust-proxy']
  if (typeof values.host === 'string') flags.host = values.host
  if (typeof values.port === 'string') flags.port = portNumber(values.port, '--port', 0)
  if (typeof values['metrics-port'] === 'string') flags.metricsPort = portNumber(values['metrics-port'], '--metrics-port', 1)
  if (typeof values['admin-port'] === 'string') flags.adminPort = portNumber(values['admin-port'], '--admin-port', 1)
  return flags
}

function portNumber(value: string, flag: string, minimum: number): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535 || Number(value) < minimum) throw new UsageError(`${flag}: not a port number: ${value}`)
  return Number(value)
}
