import { describe, expect, it } from 'vitest'
import { loadDocument } from '../document/load.js'
import { fixture } from '../../test/fixtures.js'
import { chooseAuthorizationCodeScheme, readAuthorizationCodeSchemes } from './schemes.js'

describe('readAuthorizationCodeSchemes', () => {
  it('AsyncAPI 3.0 §OAuth Flows Object: reads authorizationCode with availableScopes, x-issuer and required scopes', async () => {
    const { schemes, problems } = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v3.yaml')))
    expect(problems).toEqual([])
    expect(schemes).toEqual([
      {
        name: 'oauth',
        pointer: '/components/securitySchemes/oauth',
        flowPointer: '/components/securitySchemes/oauth/flows/authorizationCode',
        description: 'Sign in with the company account.',
        authorizationUrl: 'https://as.example.com/authorize',
        tokenUrl: 'https://as.example.com/token',
        refreshUrl: 'https://as.example.com/token',
        scopes: [
          { name: 'orders:read', description: 'Read orders' },
          { name: 'orders:write', description: 'Place orders' },
        ],
        requiredScopes: [],
        issuer: 'https://as.example.com',
        otherFlows: [],
      },
      expect.objectContaining({ name: 'writeOrders', requiredScopes: ['orders:write'], refreshUrl: undefined, issuer: undefined }),
    ])
  })

  it('AsyncAPI 2.6 §OAuth Flow Object: reads scopes (the 2.x name)', async () => {
    const { schemes } = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v2.yaml')))
    expect(schemes).toMatchObject([{ name: 'oauth', scopes: [{ name: 'orders:read' }, { name: 'orders:write' }], requiredScopes: [] }])
  })

  it('reads a scheme (and a flow) from another file', async () => {
    const { schemes } = readAuthorizationCodeSchemes(await loadDocument(fixture('external-main.v3.yaml')))
    expect(schemes).toMatchObject([{ name: 'readEvents', tokenUrl: 'https://as.example.com/token', requiredScopes: ['events:read'] }])
  })

  it('lists the other flows declared beside it', async () => {
    const { schemes } = readAuthorizationCodeSchemes(await loadDocument(fixture('lint.v3.yaml')))
    expect(schemes.find((s) => s.name === 'oauth')?.otherFlows).toEqual(['implicit', 'password'])
  })

  it('checklist §5: an invalid flow is reported against the oauth2 schema with pointers, and left out', async () => {
    const { schemes, problems } = readAuthorizationCodeSchemes(await loadDocument(fixture('invalid-flow.v2.yaml')))
    expect(schemes).toEqual([])
    const flow = '/components/securitySchemes/broken/flows/authorizationCode'
    expect(problems.map((p) => [p.code, p.pointer])).toEqual(
      expect.arrayContaining([
        ['SCHEMA_REQUIRED', flow],
        ['SCHEMA_FORMAT', `${flow}/tokenUrl`],
        ['SCHEMA_ADDITIONAL_PROPERTY', `${flow}/availableScopes`],
      ]),
    )
  })

  it('a document not made by loadDocument/parseDocument is a TypeError', () => {
    expect(() => readAuthorizationCodeSchemes({} as never)).toThrow(TypeError)
  })
})

describe('chooseAuthorizationCodeScheme', () => {
  it('AsyncAPI 3.0 §Security Scheme Object: the scheme named by its components.securitySchemes key', async () => {
    const { schemes } = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v3.yaml')))
    const choice = chooseAuthorizationCodeScheme(schemes, 'writeOrders')
    expect(choice).toEqual({ ok: true, scheme: schemes[1] })
  })

  it('without a name, the only scheme; several of different servers are SEVERAL_SCHEMES, none NO_SCHEME, each with the names to choose from', async () => {
    const two = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v3.yaml'))).schemes
    const one = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v2.yaml'))).schemes
    expect(chooseAuthorizationCodeScheme(one)).toEqual({ ok: true, scheme: one[0] })
    const elsewhere = [two[0], { ...two[1], tokenUrl: 'https://other.example.com/token' }] as typeof two
    expect(chooseAuthorizationCodeScheme(elsewhere)).toEqual({ ok: false, code: 'SEVERAL_SCHEMES', available: ['oauth', 'writeOrders'] })
    const otherIssuer = [two[0], { ...two[1], issuer: 'https://other.example.com' }] as typeof two
    expect(chooseAuthorizationCodeScheme(otherIssuer)).toMatchObject({ ok: false, code: 'SEVERAL_SCHEMES' })
    expect(chooseAuthorizationCodeScheme([])).toEqual({ ok: false, code: 'NO_SCHEME', available: [] })
  })

  it('without a name, schemes with the same authorization and token URLs describe one server: one scheme with every scope', async () => {
    const { schemes, problems } = readAuthorizationCodeSchemes(await loadDocument(fixture('inline-schemes.v3.yaml')))
    expect(problems).toEqual([])
    expect(schemes).toHaveLength(2)
    const choice = chooseAuthorizationCodeScheme(schemes)
    if (!choice.ok) throw new Error(choice.code)
    expect(choice.merged).toEqual(schemes.map((s) => s.name))
    expect(choice.scheme).toMatchObject({
      authorizationUrl: 'https://as.example.com/authorize',
      tokenUrl: 'https://as.example.com/token',
      refreshUrl: 'https://as.example.com/token',
      requiredScopes: ['orders:read', 'invoices:write'],
    })
    // Each scope once, in document order, with the first description that says something.
    expect(choice.scheme.scopes).toEqual([
      { name: 'orders:read', description: 'Read your orders' },
      { name: 'invoices:write', description: 'Send invoices' },
    ])
    // Named, a scheme is still chosen alone.
    expect(chooseAuthorizationCodeScheme(schemes, schemes[1]?.name)).toEqual({ ok: true, scheme: schemes[1] })
  })

  it('a name with no valid authorization code scheme (unknown, or its flow invalid) is UNKNOWN_SCHEME', async () => {
    const two = readAuthorizationCodeSchemes(await loadDocument(fixture('valid.v3.yaml'))).schemes
    expect(chooseAuthorizationCodeScheme(two, 'nope')).toEqual({ ok: false, code: 'UNKNOWN_SCHEME', name: 'nope', available: ['oauth', 'writeOrders'] })
    const broken = readAuthorizationCodeSchemes(await loadDocument(fixture('invalid-flow.v2.yaml'))).schemes
    expect(chooseAuthorizationCodeScheme(broken, 'broken')).toEqual({ ok: false, code: 'UNKNOWN_SCHEME', name: 'broken', available: [] })
  })

  it('a name that is not a string, or schemes that are not an array, is a TypeError', () => {
    expect(() => chooseAuthorizationCodeScheme([], 42 as never)).toThrow(TypeError)
    expect(() => chooseAuthorizationCodeScheme({} as never)).toThrow(TypeError)
  })
})
