import { describe, expect, it } from 'vitest'
import { loadDocument, parseDocument } from '../document/load.js'
import { fixture } from '../../test/fixtures.js'
import { operationScopes } from './operations.js'

describe('operationScopes', () => {
  it('AsyncAPI 3.0 §Operation Object: server requirements apply on top of the operation’s', async () => {
    const ops = operationScopes(await loadDocument(fixture('valid.v3.yaml')))
    expect(ops.map((o) => [o.id, o.action, o.channel, o.servers, o.scopes])).toEqual([
      ['placeOrder', 'send', 'orders', ['production'], ['orders:write']],
      ['watchOrders', 'receive', 'orders', ['production'], []],
    ])
    expect(ops[0]?.alternatives).toMatchObject([
      { server: 'production', requirements: [{ scheme: 'oauth', level: 'server' }, { scheme: 'writeOrders', level: 'operation', scopes: ['orders:write'] }] },
    ])
    expect(ops[1]?.alternatives).toHaveLength(1)
  })

  it('AsyncAPI 2.6 §Security Requirement Object: {scheme: [scopes]} on the server and the operation add up', async () => {
    const ops = operationScopes(await loadDocument(fixture('valid.v2.yaml')))
    expect(ops.map((o) => [o.id, o.action, o.scopes])).toEqual([
      ['placeOrder', 'publish', ['orders:read', 'orders:write']],
      ['subscribe orders', 'subscribe', ['orders:read']],
    ])
  })

  it('with several alternatives, a token must hold only the scopes every alternative requires', async () => {
    const [op] = operationScopes(await loadDocument(fixture('lint.v2.yaml')))
    expect(op?.alternatives.map((a) => a.scopes)).toEqual([['orders:admin', 'orders:delete', 'orders:write'], ['orders:admin']])
    expect(op?.scopes).toEqual(['orders:admin'])
  })

  it('AsyncAPI 3.0 §Channel Object: an operation is available only on its channel’s servers', () => {
    const doc = parseDocument(`
asyncapi: 3.0.0
info: {title: t, version: '1'}
servers:
  a: {host: a.example.com, protocol: wss, security: [{$ref: '#/components/securitySchemes/s'}]}
  b: {host: b.example.com, protocol: wss}
channels:
  c: {servers: [{$ref: '#/servers/b'}]}
operations:
  open: {action: send, channel: {$ref: '#/channels/c'}}
components:
  securitySchemes:
    s: {type: httpApiKey, name: k, in: header}
`)
    expect(operationScopes(doc)).toMatchObject([{ id: 'open', servers: ['b'], alternatives: [], scopes: [] }])
  })

  it('an operation without any security has no alternatives', async () => {
    const doc = parseDocument("asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\noperations:\n  o: {action: receive, channel: {}}\n")
    expect(operationScopes(doc)).toMatchObject([{ id: 'o', alternatives: [], scopes: [], servers: [] }])
  })
})
