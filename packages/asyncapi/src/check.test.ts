import { readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadDocument } from './document/load.js'
import { fixture, reference, referenceDir } from '../test/fixtures.js'
import { checkDocument } from './check.js'

describe('checkDocument', () => {
  it('valid documents are valid, with schemes and operations', async () => {
    const result = checkDocument(await loadDocument(fixture('valid.v3.yaml')))
    expect(result).toMatchObject({ asyncapi: '3.0.0', schemaVersion: '3.0.0', valid: true, problems: [] })
    expect(result.schemes.map((s) => s.name)).toEqual(['oauth', 'writeOrders'])
    expect(result.operations.map((o) => o.id)).toEqual(['placeOrder', 'watchOrders'])
  })

  it('a problem found by both the whole schema and the oauth2 schema is reported once', async () => {
    const result = checkDocument(await loadDocument(fixture('invalid-flow.v2.yaml')))
    expect(result.valid).toBe(false)
    expect(result.problems.filter((p) => p.code.startsWith('SCHEMA_'))).toHaveLength(3)
  })

  it('review errors do not make the document schema-invalid', async () => {
    const result = checkDocument(await loadDocument(fixture('lint.v2.yaml')))
    expect(result.valid).toBe(true)
    expect(result.problems.some((p) => p.severity === 'error')).toBe(true)
  })
})

describe('the reference documents (test/fixtures/reference)', () => {
  it('invalid-flow.v3.yaml: missing tokenUrl, relative authorizationUrl and unknown field, each with its pointer', async () => {
    const result = checkDocument(await loadDocument(reference('invalid-flow.v3.yaml')))
    const flow = '/components/securitySchemes/broken/flows/authorizationCode'
    expect(result.valid).toBe(false)
    const schema = result.problems.filter((p) => p.code.startsWith('SCHEMA_'))
    expect(schema.map((p) => [p.code, p.pointer])).toEqual([
      ['SCHEMA_REQUIRED', flow],
      ['SCHEMA_FORMAT', `${flow}/authorizationUrl`],
      ['SCHEMA_ADDITIONAL_PROPERTY', `${flow}/clientSecret`],
    ])
    expect(schema[0]?.message).toContain('tokenUrl')
    expect(schema[1]?.message).toContain('/authorize')
    expect(schema[2]?.message).toContain('clientSecret')
    expect(result.schemes).toEqual([])
  })

  it('chat-broker.v3.yaml: AsyncAPI 3.0 per-operation scopes from each scheme’s scopes array', async () => {
    const result = checkDocument(await loadDocument(reference('chat-broker.v3.yaml')))
    expect(result.valid).toBe(true)
    expect(Object.fromEntries(result.operations.map((o) => [o.id, o.scopes]))).toEqual({
      sendMessage: ['write:messages'],
      receiveMessages: ['read:messages'],
      purgeRoom: ['admin'],
    })
    expect(result.schemes.find((s) => s.name === 'chatOAuth')?.scopes.map((s) => s.name)).toEqual(['read:messages', 'write:messages', 'admin'])
    expect(result.problems.filter((p) => p.severity === 'error')).toEqual([])
  })

  it('chat-broker.v2.yaml: AsyncAPI 2.6 per-operation scopes from {scheme: [scopes]}', async () => {
    const result = checkDocument(await loadDocument(reference('chat-broker.v2.yaml')))
    expect(result.valid).toBe(true)
    expect(Object.fromEntries(result.operations.map((o) => [o.id, o.scopes]))).toEqual({
      sendMessage: ['write:messages'],
      receiveMessages: ['read:messages'],
    })
    expect(result.schemes).toMatchObject([{ name: 'chatOAuth', tokenUrl: 'http://localhost:4000/token' }])
    expect(result.schemes[0]?.scopes.map((s) => s.name)).toEqual(['read:messages', 'write:messages', 'admin'])
    expect(result.problems).toEqual([])
  })

  const publicDir = path.join(referenceDir, 'public')
  const publicDocs = readdirSync(publicDir).filter((f) => /\.(ya?ml|json)$/.test(f))
  it.each(publicDocs)('public/%s: valid against its official schema, oauth2 schemes read', async (name) => {
    const result = checkDocument(await loadDocument(path.join(publicDir, name)))
    expect(result.valid).toBe(true)
    expect(result.problems.filter((p) => p.severity === 'error')).toEqual([])
  })

  it('public streetlights 2.6: implicit and password flows beside authorizationCode are flagged (checklist AA-03)', async () => {
    const result = checkDocument(await loadDocument(path.join(publicDir, 'spec-v2.6.0-streetlights-mqtt.yml')))
    expect(result.schemes).toMatchObject([{ name: 'supportedOauthFlows', otherFlows: ['implicit', 'password', 'clientCredentials'] }])
    expect(result.problems.filter((p) => p.code === 'FLOW_INSECURE')).toHaveLength(2)
  })
})
