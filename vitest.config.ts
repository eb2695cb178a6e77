import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // scrypt and signing are CPU-bound; two cores here
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } },
  },
})
