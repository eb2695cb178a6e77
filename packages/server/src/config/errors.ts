/**
 * The one error of configuration, in a module of its own so that every reader of a source (the
 * file, the environment, an AsyncAPI document) can throw it without importing `load.ts`.
 */

/** A configuration problem; the message names the field and is meant for the person starting the server. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}
