import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { loadDocument } from '../document/load.js'
import { fixture } from '../../test/fixtures.js'
import { readAuthorizationCodeSchemes } from './schemes.js'

// Its own file: vitest runs each test file in a fresh process, so nothing else has loaded a schema.
describe('start-up fast path', () => {
  it('reading the schemes loads only the oauth2 definitions of @asyncapi/specs, never a whole-document schema', async () => {
    const { schemes } = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v3.yaml')))
    expect(schemes).toHaveLength(2)
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@asyncapi/specs'))
    expect(loaded.some((k) => k.includes('/definitions/3.0.0/oauth2Flows.json'))).toBe(true)
    expect(loaded.filter((k) => k.includes('/schemas/') || k.endsWith('specs/index.js'))).toEqual([])
    expect(Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@asyncapi/parser'))).toBe(false)
  })
})
