/**
 * The admin API's routes as data (`AdminRoute`) and the OpenAPI 3.1 document made from them. The
 * same route objects are registered with Fastify (`http/admin-app.ts`), with the same schemas
 * (`http/admin-schemas.ts`): what the document says is what the server checks.
 */
import type { AdminContext } from '../admin/context.js'
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, type ProblemType } from './admin-problems.js'
import { ADMIN_SCHEMAS, type AdminSchemaName, type JsonSchema } from './admin-schemas.js'

export type AdminMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** What a route's handler answers: a status, a JSON body (none for 204), and where a created object lives. */
export interface AdminAnswer {
  status: 200 | 201 | 204
  body?: unknown
  location?: string
}

/** The request as a handler sees it, checked against the route's schemas. */
export interface AdminInput {
  params: Readonly<Record<string, string>>
  query: Readonly<Record<string, unknown>>
  body: unknown
}

export interface AdminParameter {
  schema: JsonSchema
  description: string
}

export interface AdminRoute {
  method: AdminMethod
  /** As OpenAPI writes it: `/admin/clients/{client_id}`. */
  path: string
  operationId: string
  summary: string
  description?: string
  tag: 'clients' | 'users' | 'keys' | 'grants' | 'registration-tokens' | 'document'
  /** Path parameters, by name: every `{name}` of `path`. */
  params?: Readonly<Record<string, AdminParameter>>
  /** Query parameters, each optional; others are refused. */
  query?: Readonly<Record<string, AdminParameter>>
  /** A JSON body; `required: false` means it may be left out (no body, no Content-Type). */
  body?: { schema: AdminSchemaName; required: boolean }
  /** The successful answer. */
  success: { status: AdminAnswer['status']; description: string; schema?: AdminSchemaName | { list: AdminSchemaName } | 'document'; location?: true }
  /** Problems particular to the route (`conflict`); the common ones are added for every route. */
  problems?: readonly ProblemType[]
  handle(ctx: AdminContext, input: AdminInput): Promise<AdminAnswer>
}

/** `/admin/clients/{client_id}` → `/admin/clients/:client_id`. */
export const fastifyPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1')

/** The largest request body the admin API reads: a client's metadata with a few keys fits. */
export const ADMIN_BODY_LIMIT = 16 * 1024

/** The admin API's own version: raised when a change would break a caller. */
export const ADMIN_API_VERSION = '1.0.0'

const ref = (name: AdminSchemaName) => ({ $ref: `#/components/schemas/${name}` })

/** The problems a route can answer: every route's, then those of its parameters, body and own. */
function problemsOf(route: AdminRoute): ProblemType[] {
  const problems: ProblemType[] = ['invalid', 'unauthorized']
  if (route.params !== undefined) problems.push('not_found')
  problems.push(...(route.problems ?? []))
  if (route.body !== undefined) problems.push('too_large', 'unsupported_media_type')
  problems.push('too_many_requests', 'unavailable')
  return problems
}

const PROBLEM_WORDS: Readonly<Record<ProblemType, string>> = {
  invalid: 'A malformed request or a refused value: `field` names it',
  unauthorized: 'No admin token, or one that is unknown or revoked',
  not_found: 'No such object',
  method_not_allowed: 'The path does not take this method (see Allow)',
  conflict: 'The change contradicts the current state (a name taken)',
  too_large: `The body is over ${ADMIN_BODY_LIMIT / 1024} KiB`,
  unsupported_media_type: 'The body is not application/json',
  too_many_requests: 'Too many requests with a wrong admin token from this address (see Retry-After)',
  server_error: 'A fault of the server',
  unavailable: 'The database is not answering (see Retry-After)',
}

function successResponse(route: AdminRoute): Record<string, unknown> {
  const { success } = route
  const response: Record<string, unknown> = { description: success.description }
  if (success.location === true) {
    response.headers = { Location: { description: 'the path of the created object', schema: { type: 'string' } } }
  }
  if (success.schema !== undefined) {
    const schema =
      success.schema === 'document'
        ? { type: 'object', description: 'this document' }
        : typeof success.schema === 'string'
          ? ref(success.schema)
          : { type: 'array', items: ref(success.schema.list) }
    response.content = { 'application/json': { schema } }
  }
  return response
}

function operation(route: AdminRoute): Record<string, unknown> {
  const parameters = [
    ...Object.entries(route.params ?? {}).map(([name, { schema, description }]) => ({ name, in: 'path', required: true, description, schema })),
    ...Object.entries(route.query ?? {}).map(([name, { schema, description }]) => ({ name, in: 'query', required: false, description, schema })),
  ]
  const responses: Record<string, unknown> = { [String(route.success.status)]: successResponse(route) }
  for (const type of problemsOf(route)) responses[String(PROBLEM_TYPES[type].status)] = { $ref: `#/components/responses/${type}` }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [route.tag],
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(route.body === undefined ? {} : { requestBody: { required: route.body.required, content: { 'application/json': { schema: ref(route.body.schema) } } } }),
    responses,
  }
}

/** The OpenAPI 3.1 document of `routes`: every path and method, its schemas, the bearer scheme. */
export function openApiDocument(routes: readonly AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route)
  const responses = Object.fromEntries(
    (Object.keys(PROBLEM_TYPES) as ProblemType[]).map((type) => [
      type,
      { description: PROBLEM_WORDS[type], content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem') } } },
    ]),
  )
  return {
    openapi: '3.1.0',
    info: {
      title: 'authcode admin API',
      version: ADMIN_API_VERSION,
      description:
        'Users, clients, signing keys, grants and registration tokens of an authcode server. Served on a listener of its own (authcode serve --admin-port), ' +
        'never on the public port. Every request needs an admin token (authcode admin-token create --name NAME); every change is an audit event ' +
        'naming the token (actor admin_token:NAME). Errors are RFC 9457 problem details.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    security: [{ adminToken: [] }],
    tags: [
      { name: 'clients', description: 'OAuth clients, in RFC 7591 metadata names' },
      { name: 'users', description: 'The users who sign in' },
      { name: 'keys', description: 'The signing keys' },
      { name: 'grants', description: 'What a user granted a client, and the tokens issued under it' },
      { name: 'registration-tokens', description: 'Initial access tokens of dynamic client registration (RFC 7591 §1.2), as authcode registration-token manages them' },
      { name: 'document', description: 'This description' },
    ],
    paths,
    components: {
      schemas: ADMIN_SCHEMAS,
      responses,
      securitySchemes: {
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An admin token from `authcode admin-token create --name NAME` (shown once, stored hashed); revoked with `authcode admin-token revoke`',
        },
      },
    },
  }
}
