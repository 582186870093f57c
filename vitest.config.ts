import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/host/**/*.test.ts'],
    // Plain process flags only: the library must work for `node app.js` as it is.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
