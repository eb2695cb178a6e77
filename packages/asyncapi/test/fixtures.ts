/** Paths of the test documents: this package's fixtures, and the reference documents every package's tests read. */
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

export function fixture(name: string): string {
  return path.join(here, 'fixtures', name)
}

/** The reference AsyncAPI documents (chat-broker, invalid-flow, public/…): see its README.md. */
export const referenceDir = path.join(here, 'fixtures', 'reference')

/** The reference document `name` (e.g. 'chat-broker.v3.yaml', 'public/tck-2.0-oauth2-valid.yaml'). */
export function reference(name: string): string {
  return path.join(referenceDir, name)
}
