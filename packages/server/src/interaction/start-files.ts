/**
 * Reading the files the pages are made of (templates, catalogs, the logo, the stylesheet) once, at
 * start: a problem stops the start with a `ConfigError` naming the file (and the line, where the
 * content is wrong), never the first request that would have needed it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { ConfigError } from '../config/errors.js'

/** The line (1-based) of character `index` of `text`. */
export function lineAt(text: string, index: number): number {
  return text.slice(0, Math.max(0, index)).split('\n').length
}

/** A file's content; `setting` names what it is for (`pages.logo`), so the operator knows what to fix. */
export function readStartFile(path: string, setting: string): Buffer {
  try {
    return readFileSync(path)
  } catch (cause) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

/** The names of the files in `dir` that end in `extension`, sorted. */
export function listStartFolder(dir: string, extension: string, setting: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(extension))
      .map((entry) => entry.name)
      .sort()
  } catch (cause) {
    throw new ConfigError(`${setting}: cannot read the folder ${dir}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}
