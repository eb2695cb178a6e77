/** Paths of the test documents: this package's fixtures, and the shared documents beside the repository. */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

export function fixture(name: string): string {
  return path.join(here, 'fixtures', name)
}

/** The repository root (…/main); the shared documents are in ../shared/asyncapi next to it. */
export const repoRoot = path.resolve(here, '..', '..', '..')
export const sharedDir = path.join(repoRoot, '..', 'shared', 'asyncapi')
export const hasShared = existsSync(sharedDir)
if (!hasShared) console.warn(`skipping the shared AsyncAPI documents: ${sharedDir} is absent`)

export function shared(name: string): string {
  return path.join(sharedDir, name)
}
