/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store answers too). */
import type { FastifyPluginAsync } from 'fastify'
import type { Services } from '../http/services.js'

export const healthEndpoints: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (request, reply) => {
    try {
      await services.store.ping()
      return { status: 'ready' }
    } catch (error) {
      request.log.warn({ err: error }, 'store not reachable')
      return reply.code(503).send({ status: 'not ready' })
    }
  })
}
