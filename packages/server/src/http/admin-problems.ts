/**
 * The admin API's errors: RFC 9457 problem details (`application/problem+json`), one `type` per
 * kind of refusal, `field` naming the JSON member at fault. Whatever is thrown while answering
 * becomes one of them here, in one place: the admin service's `AdminError` keeps its code and field,
 * a schema failure names the member, a bad or oversized body is 400, a wrong content type 415; anything else is logged and
 * answered as a bare `server_error` (or `unavailable` when the database is down), never with its
 * message or a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isAdminError } from '../admin/errors.js'
import { isOAuthError } from '../protocol/errors.js'
import { isStoreUnavailable } from '../storage/errors.js'

/** Each kind of problem the admin API answers, with its status and title. */
export const PROBLEM_TYPES = {
  invalid: { status: 400, title: 'Invalid request' },
  unauthorized: { status: 401, title: 'Admin token required' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  // The issue (#20) names 400 for an oversized body: one status for every bad input.
  too_large: { status: 400, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  too_many_requests: { status: 429, title: 'Too many failed attempts' },
  server_error: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>

export type ProblemType = keyof typeof PROBLEM_TYPES

/** The `type` URI of a problem: an identifier (RFC 9457 §3.1.1), not a page to fetch. */
export const problemTypeUri = (type: ProblemType): string => `https://authcode.dev/problems/${type}`

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** RFC 9457 §3.1, plus `field`: the request member at fault, when one is. */
export interface Problem {
  type: string
  title: string
  status: number
  /** Safe to show: never a token, password or secret, nor what the body held. */
  detail: string
  field?: string
}

/** A refusal of the HTTP layer itself (authentication, routing, the body); the service's are `AdminError`s. */
export class AdminProblem extends Error {
  override readonly name = 'AdminProblem'

  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly field?: string,
    /** Response headers the refusal needs: `WWW-Authenticate`, `Allow`, `Retry-After`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail)
  }
}

function problem(type: ProblemType, detail: string, field?: string): Problem {
  const { status, title } = PROBLEM_TYPES[type]
  return { type: problemTypeUri(type), title, status, detail, ...(field === undefined ? {} : { field }) }
}

/** One Ajv error, as Fastify hands it over with `validation`. */
interface SchemaError {
  instancePath: string
  keyword: string
  params: Record<string, unknown>
  message?: string
}

/** `/redirect_uris/0` → `redirect_uris`: the top-level member a schema error is about. */
function memberOf(instancePath: string): string | undefined {
  const first = instancePath.split('/')[1]
  return first === undefined || first === '' ? undefined : first.replaceAll('~1', '/').replaceAll('~0', '~')
}

const PARTS: Readonly<Record<string, string>> = { body: 'the request body', querystring: 'the query', params: 'the path' }

/** A schema failure as one sentence naming the member; the value itself is never repeated. */
function schemaProblem(error: SchemaError, context: string): Problem {
  const where = PARTS[context] ?? 'the request'
  const member = memberOf(error.instancePath)
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = String(error.params.additionalProperty)
      return problem('invalid', `${member === undefined ? '' : `${member}: `}unknown field ${extra} in ${where}`, member ?? extra)
    }
    case 'required': {
      const missing = String(error.params.missingProperty)
      return problem('invalid', `${member === undefined ? missing : `${member}.${missing}`}: required in ${where}`, member ?? missing)
    }
    case 'type':
      if (member === undefined) return problem('invalid', `${where} must be a JSON ${String(error.params.type)}`)
      return problem('invalid', `${member}: must be ${typeWords(String(error.params.type))}${error.instancePath.split('/').length > 2 ? ` (at ${error.instancePath})` : ''}`, member)
    case 'enum':
      return problem('invalid', `${member ?? 'value'}: one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')}`, member)
    default:
      return problem('invalid', `${member ?? where}: ${error.message ?? 'is invalid'}`, member)
  }
}

function typeWords(type: string): string {
  return type
    .split(',')
    .map((t) => (t === 'null' ? 'null' : t === 'integer' ? 'a whole number' : t === 'array' ? 'a list' : t === 'object' ? 'an object' : `a ${t}`))
    .join(' or ')
}

/**
 * Fastify's own refusals by code, each with a fixed sentence: their messages may quote the body
 * (a JSON syntax error shows where it failed), and the body may hold a password.
 */
function frameworkProblem(error: FastifyError): Problem | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem('too_large', 'the request body is too large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem('unsupported_media_type', 'the request body must be application/json (UTF-8)')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem('invalid', 'the request body is empty: send a JSON object, or no Content-Type')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem('invalid', 'the Content-Length does not match the body')
    default:
      break
  }
  const status = error.statusCode
  if (status === 413) return problem('too_large', 'the request body is too large')
  if (status === 415) return problem('unsupported_media_type', 'the request body must be application/json (UTF-8)')
  if (error instanceof SyntaxError || (status !== undefined && status >= 400 && status < 500)) {
    // A JSON syntax error, a prototype-poisoning key, a malformed URL: the request is at fault.
    return problem('invalid', error instanceof SyntaxError ? 'the request body is not valid JSON' : 'the request is malformed')
  }
  return undefined
}

/** What to answer for `error`, and whether it is the server's fault (to log it). */
export function problemOf(error: unknown): { problem: Problem; headers: Readonly<Record<string, string>>; serverFault: boolean } {
  if (error instanceof AdminProblem) return { problem: problem(error.type, error.detail, error.field), headers: error.headers, serverFault: false }
  if (isAdminError(error)) return { problem: problem(error.code, error.message, error.field), headers: {}, serverFault: false }
  // A repeated Authorization or Content-Type header (http/app.ts refuses those, for both listeners).
  if (isOAuthError(error) && error.status === 400) return { problem: problem('invalid', error.description), headers: {}, serverFault: false }
  if (isStoreUnavailable(error)) return { problem: problem('unavailable', 'the database is not answering; retry later'), headers: { 'retry-after': '5' }, serverFault: true }
  const fastifyError = error as Partial<FastifyError> & { validation?: SchemaError[]; validationContext?: string }
  const [first] = fastifyError.validation ?? []
  if (first !== undefined) return { problem: schemaProblem(first, fastifyError.validationContext ?? 'body'), headers: {}, serverFault: false }
  const framework = error instanceof Error ? frameworkProblem(error as FastifyError) : undefined
  if (framework !== undefined) return { problem: framework, headers: {}, serverFault: false }
  return { problem: problem('server_error', 'the request failed; the server log has the details'), headers: {}, serverFault: true }
}

export function sendProblem(reply: FastifyReply, found: { problem: Problem; headers: Readonly<Record<string, string>> }): FastifyReply {
  reply.code(found.problem.status).headers(found.headers)
  return reply.type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`).send(JSON.stringify(found.problem))
}

/** The admin app's error handler: the problem to answer, the server's faults logged with their cause. */
export function adminErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const found = problemOf(error)
  if (found.problem.type === problemTypeUri('unavailable')) request.log.warn({ err: error }, 'database unavailable')
  else if (found.serverFault) request.log.error({ err: error }, 'admin request failed')
  return sendProblem(reply, found)
}
