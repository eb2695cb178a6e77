import { describe, expect, it } from 'vitest'
import { loadDocument, parseDocument } from '../document/load.js'
import { fixture } from '../../test/fixtures.js'
import { validateDocument } from './document.js'

describe('validateDocument (the official @asyncapi/specs schema of the declared version)', () => {
  it.each(['valid.v3.yaml', 'valid.v3.1.json', 'valid.v2.yaml', 'valid.v2.0.yaml', 'lint.v3.yaml', 'lint.v2.yaml'])(
    'checklist AA-01: %s validates',
    async (name) => {
      expect(validateDocument(await loadDocument(fixture(name)))).toEqual([])
    },
  )

  it('reports each violation once, with the pointer of the offending value, not every oneOf branch', async () => {
    const problems = validateDocument(await loadDocument(fixture('invalid-doc.v3.yaml')))
    expect(problems.map((p) => [p.code, p.pointer, p.message, p.line])).toEqual([
      ['SCHEMA_REQUIRED', '/info', 'missing required field "version"', 3],
      ['SCHEMA_REQUIRED', '/servers/production/security/0', 'missing required field "in"', 9],
    ])
  })

  it('AsyncAPI 2.6 §OAuth Flow Object: availableScopes is the 3.x name; 2.x requires scopes', async () => {
    const problems = validateDocument(await loadDocument(fixture('invalid-flow.v2.yaml')))
    const flow = '/components/securitySchemes/broken/flows/authorizationCode'
    expect(problems.map((p) => [p.code, p.pointer])).toEqual(
      expect.arrayContaining([
        ['SCHEMA_REQUIRED', flow],
        ['SCHEMA_FORMAT', `${flow}/tokenUrl`],
        ['SCHEMA_ADDITIONAL_PROPERTY', `${flow}/availableScopes`],
      ]),
    )
    expect(problems).toHaveLength(3)
  })

  it('an unknown security scheme type is one enum problem listing the allowed types', () => {
    const doc = parseDocument(
      'asyncapi: 3.0.0\ninfo: {title: t, version: "1"}\ncomponents:\n  securitySchemes:\n    s: {type: oauth3, flows: {}}\n',
    )
    const problems = validateDocument(doc)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({ code: 'SCHEMA_ENUM', pointer: '/components/securitySchemes/s/type' })
    expect(problems[0]?.message).toContain('"oauth2"')
  })

  it('the declared version must match its schema', () => {
    const problems = validateDocument(parseDocument('asyncapi: 2.6.1\ninfo: {title: t, version: "1"}\nchannels: {}\n'))
    expect(problems).toMatchObject([{ code: 'SCHEMA_ENUM', pointer: '/asyncapi' }])
  })

  it('a document not made by loadDocument/parseDocument is a TypeError', () => {
    expect(() => validateDocument({ asyncapi: '3.0.0' } as never)).toThrow(TypeError)
  })
})
