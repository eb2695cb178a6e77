/**
 * Request bodies: only `application/x-www-form-urlencoded` in UTF-8 is parsed, strictly
 * (`protocol/params.ts`); any other content type is read and set aside so that the endpoint can
 * answer with its own `invalid_request` instead of the framework's 415.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { invalidRequest } from '../protocol/errors.js'
import { Params, parseParams, queryOf } from '../protocol/params.js'

/** SECURITY.md decision: request bodies up to 64 KiB. */
export const BODY_LIMIT = 64 * 1024

const UNSUPPORTED_BODY = Symbol('unsupported body')

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1]
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8') {
      done(invalidRequest('form bodies must be UTF-8'), undefined)
      return
    }
    let text: string
    try {
      // Strictly: raw bytes that are not UTF-8 are refused, never turned into U+FFFD.
      text = UTF8.decode(body as Buffer)
    } catch {
      done(invalidRequest('form bodies must be UTF-8'), undefined)
      return
    }
    try {
      done(null, parseParams(text))
    } catch (error) {
      done(error as Error, undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, UNSUPPORTED_BODY))
}

/** The form body of a POST; anything else is `invalid_request`. */
export function formBody(request: FastifyRequest): Params {
  if (request.body instanceof Params) return request.body
  throw invalidRequest('the request body must be application/x-www-form-urlencoded')
}

/** The form body when there is one, else no parameters (`POST /authorize` may carry its parameters in the query). */
export function optionalFormBody(request: FastifyRequest): Params {
  if (request.body === undefined || request.body === null) return Params.empty()
  return formBody(request)
}

export const queryParams = (request: FastifyRequest): Params => parseParams(queryOf(request.url))
