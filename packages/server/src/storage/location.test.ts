/**
 * The default PostgreSQL pool of an instance (`defaultPoolSize`): twice the cores Node may use
 * (`os.availableParallelism()`) plus one. The cores are set here, so the rule is checked on counts
 * other than this machine's, and a different source of the count (`os.cpus()`) would fail.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defaultPoolSize } from './location.js'

const cores = vi.hoisted(() => ({ count: 3 }))

vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>()
  const availableParallelism = () => cores.count
  return { ...os, availableParallelism, default: { ...os, availableParallelism } }
})

describe('defaultPoolSize', () => {
  afterEach(() => {
    cores.count = 3
  })

  it('is 2 × os.availableParallelism() + 1 when no core count is given', () => {
    for (const count of [1, 3, 8, 64]) {
      cores.count = count
      expect(defaultPoolSize()).toBe(2 * count + 1)
    }
  })

  it('a core count given is used instead of the machine\'s', () => {
    expect(defaultPoolSize(4)).toBe(9)
    expect(defaultPoolSize(1)).toBe(3)
  })
})
