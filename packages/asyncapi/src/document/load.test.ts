import { describe, expect, it } from 'vitest'
import { AsyncApiError } from '../errors.js'
import { fixture } from '../../test/fixtures.js'
import { loadDocument, parseDocument } from './load.js'

async function rejectsWith(promise: Promise<unknown>, code: string) {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(AsyncApiError)
  expect((error as AsyncApiError).code).toBe(code)
}

describe('loadDocument / parseDocument', () => {
  it('AsyncAPI 3.0 §Format: reads YAML and records the declared version', async () => {
    const doc = await loadDocument(fixture('valid.v3.yaml'))
    expect(doc).toMatchObject({ asyncapi: '3.0.0', schemaVersion: '3.0.0', major: 3 })
    expect(doc.problems).toEqual([])
  })

  it('AsyncAPI 3.1 §Format: reads JSON', async () => {
    const doc = await loadDocument(new URL(`file://${fixture('valid.v3.1.json')}`))
    expect(doc).toMatchObject({ asyncapi: '3.1.0', schemaVersion: '3.1.0', major: 3 })
  })

  it('reads every 2.x minor version with its own schema', () => {
    for (const minor of [0, 1, 2, 3, 4, 5, 6]) {
      const doc = parseDocument(`asyncapi: 2.${minor}.0\ninfo: {title: t, version: '1'}\nchannels: {}\n`)
      expect(doc).toMatchObject({ schemaVersion: `2.${minor}.0`, major: 2 })
    }
  })

  it('throws ERR_ASYNCAPI_READ for a missing file', async () => {
    await rejectsWith(loadDocument(fixture('no-such-file.yaml')), 'ERR_ASYNCAPI_READ')
  })

  it('throws ERR_ASYNCAPI_PARSE for text that is neither YAML nor JSON', async () => {
    await rejectsWith(loadDocument(fixture('not-yaml.yaml')), 'ERR_ASYNCAPI_PARSE')
    expect(() => parseDocument('asyncapi: 3.0.0\nasyncapi: 3.0.0\n')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCAPI_PARSE' }))
  })

  it('throws ERR_ASYNCAPI_NOT_ASYNCAPI without an asyncapi version string', async () => {
    await rejectsWith(loadDocument(fixture('openapi.yaml')), 'ERR_ASYNCAPI_NOT_ASYNCAPI')
    expect(() => parseDocument('[1, 2]')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCAPI_NOT_ASYNCAPI' }))
  })

  it('throws ERR_ASYNCAPI_VERSION outside 2.0–2.6 and 3.0–3.1', async () => {
    await rejectsWith(loadDocument(fixture('v1.yaml')), 'ERR_ASYNCAPI_VERSION')
    expect(() => parseDocument('asyncapi: 4.0.0')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCAPI_VERSION' }))
  })

  it('a caller mistake is a TypeError', async () => {
    await expect(loadDocument(42 as unknown as string)).rejects.toBeInstanceOf(TypeError)
    expect(() => parseDocument({} as unknown as string)).toThrow(TypeError)
  })

  it('AsyncAPI 3.0 §Reference Object: inlines other files (and their own #/ references), keeps local ones', async () => {
    const doc = await loadDocument(fixture('external-main.v3.yaml'))
    const schemes = (doc.data.components as { securitySchemes: Record<string, unknown> }).securitySchemes
    expect(schemes.readEvents).toMatchObject({
      type: 'oauth2',
      flows: { authorizationCode: { tokenUrl: 'https://as.example.com/token' } },
    })
    expect((doc.data.operations as Record<string, { channel: unknown }>).readEvents?.channel).toEqual({ $ref: '#/channels/events' })
  })

  it('reports unresolvable references (remote ones are never fetched) with their pointer and line', async () => {
    const doc = await loadDocument(fixture('external-main.v3.yaml'))
    expect(doc.problems.map((p) => [p.code, p.pointer, p.line])).toEqual([
      ['REF_UNRESOLVED', '/components/securitySchemes/remote/$ref', 20],
      ['REF_UNRESOLVED', '/components/securitySchemes/dangling/$ref', 22],
    ])
  })

  it('without a source file, references to other files are reported, not read from the working directory', () => {
    const doc = parseDocument('asyncapi: 3.0.0\ninfo: {$ref: "info.yaml"}\n')
    expect(doc.problems).toMatchObject([{ code: 'REF_UNRESOLVED', pointer: '/info/$ref' }])
  })

  it('locates pointers in the source text', async () => {
    const doc = await loadDocument(fixture('valid.v3.yaml'))
    expect(doc.locate('/components/securitySchemes/oauth/flows/authorizationCode/tokenUrl')).toEqual({ line: 38, column: 21 })
    expect(doc.locate('/components/securitySchemes/oauth/nothing/here')?.line).toBe(32)
  })
})
