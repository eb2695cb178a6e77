import { describe, expect, it } from 'vitest'
import { loadDocument } from '../document/load.js'
import { fixture } from '../../test/fixtures.js'
import { lintSecurity } from './lint.js'

const scheme = (name: string) => `/components/securitySchemes/${name}`
const flow = (name: string, f = 'authorizationCode') => `${scheme(name)}/flows/${f}`

describe('lintSecurity', () => {
  it.each(['valid.v3.yaml', 'valid.v3.1.json', 'valid.v2.yaml', 'valid.v2.0.yaml'])('%s: nothing to flag', async (name) => {
    expect(lintSecurity(await loadDocument(fixture(name)))).toEqual([])
  })

  it('3.x: every review finding, each with its pointer', async () => {
    const problems = lintSecurity(await loadDocument(fixture('lint.v3.yaml')))
    expect(problems.map((p) => [p.severity, p.code, p.pointer])).toEqual(
      expect.arrayContaining([
        ['warning', 'REF_SIBLINGS_IGNORED', '/servers/production/security/0'],
        ['warning', 'URL_NOT_HTTPS', `${flow('oauth')}/authorizationUrl`],
        ['warning', 'REFRESH_URL_OTHER_ORIGIN', `${flow('oauth')}/refreshUrl`],
        ['warning', 'SCOPE_WITHOUT_DESCRIPTION', `${flow('oauth')}/availableScopes/orders:write`],
        ['warning', 'FLOW_INSECURE', flow('oauth', 'implicit')],
        ['warning', 'FLOW_INSECURE', flow('oauth', 'password')],
        ['error', 'SCOPE_UNDECLARED', `${scheme('deleteOrders')}/scopes/0`],
        ['warning', 'SCHEME_UNUSED', scheme('forgotten')],
      ]),
    )
    expect(problems).toHaveLength(8)
  })

  it('2.x: every review finding, each with its pointer', async () => {
    const problems = lintSecurity(await loadDocument(fixture('lint.v2.yaml')))
    expect(problems.map((p) => [p.severity, p.code, p.pointer])).toEqual(
      expect.arrayContaining([
        ['error', 'SCHEME_UNKNOWN', '/channels/orders/publish/security/1/missing'],
        ['error', 'SCOPE_UNDECLARED', '/channels/orders/publish/security/0/oauth/1'],
        ['warning', 'URL_NOT_HTTPS', `${flow('oauth')}/tokenUrl`],
        ['warning', 'SCOPE_WITHOUT_DESCRIPTION', `${flow('oauth')}/scopes/orders:admin`],
        ['warning', 'FLOW_INSECURE', flow('oauth', 'password')],
        ['warning', 'SCHEME_UNUSED', scheme('forgotten')],
      ]),
    )
    expect(problems).toHaveLength(6)
    expect(problems.find((p) => p.code === 'SCOPE_UNDECLARED')?.message).toContain('orders:delete')
  })

  it('checklist AA-04: a server requiring an undeclared scope is an error', async () => {
    const doc = await loadDocument(fixture('lint.v2.yaml'))
    // orders:admin is declared (with a blank description): no SCOPE_UNDECLARED for the server.
    expect(lintSecurity(doc).filter((p) => p.code === 'SCOPE_UNDECLARED' && p.pointer.startsWith('/servers'))).toEqual([])
  })

  it('plain http is accepted on localhost only', async () => {
    expect(lintSecurity(await loadDocument(fixture('valid.v2.0.yaml'))).filter((p) => p.code === 'URL_NOT_HTTPS')).toEqual([])
  })
})
