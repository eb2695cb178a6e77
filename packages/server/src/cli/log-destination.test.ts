import { PassThrough } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { logDestination } from './serve.js'

describe('logDestination', () => {
  it('JSON lines (pino\'s own standard output) unless asked for pretty or on a terminal', async () => {
    expect(await logDestination('json', true)).toBeUndefined()
    expect(await logDestination('json', false)).toBeUndefined()
    expect(await logDestination('auto', false)).toBeUndefined()
  })

  it.each([['auto', true], ['pretty', false]] as const)('%s on a terminal=%s: pretty lines, the level and message readable, no JSON', async (format, terminal) => {
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
    const stream = await logDestination(format, terminal, out)
    expect(stream).toBeDefined()
    pino({}, stream).warn({ client_id: 'app' }, 'code.replayed')
    const text = chunks.join('').replace(/\u001b\[\d+m/g, '') // colours on a terminal
    expect(text).toMatch(/WARN/)
    expect(text).toMatch(/code\.replayed/)
    expect(text).toMatch(/client_id: "app"/)
    expect(() => JSON.parse(text.split('\n')[0] ?? '')).toThrow()
  })
})
