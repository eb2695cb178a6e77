/**
 * Security events as the operator sees them: each event a protocol step emits
 * (`protocol/events.ts`) becomes, within the request that caused it,
 * - one JSON log line with a stable `event` field, the client and user ids, the caller's address
 *   and the request id (the request's log binding), never a secret;
 * - a count in the metrics (`http/metrics.ts`);
 * - a call of the app's `onEvent` hook (`AppDeps`), whose failure is logged and never breaks the request.
 */
import type { FastifyRequest } from 'fastify'
import type { AdminActor, ClientAuthFailure, EventSink, SecurityEvent, SecurityEventType } from '../protocol/events.js'
import type { Metrics } from './metrics.js'
import type { PasskeyRefusal } from '../protocol/passkeys.js'

/**
 * What `onEvent` receives. The log line says the same, its `request_id` being the request's log
 * binding and its time pino's own.
 */
export interface AuditEvent {
  event: SecurityEventType
  /** ISO 8601, when the server saw it. */
  time: string
  client_id: string | null
  user_id: string | null
  /** The caller's address (after `trustProxy`). */
  ip: string
  /** The request's id, as answered in `X-Request-Id`. */
  request_id: string
  /** The grant a code or refresh token belongs to. */
  grant_id?: string
  /** `login.succeeded`: how the user signed in (RFC 8176 values). */
  amr?: readonly string[]
  /** `client.auth_failed`, `passkey.refused`: why. */
  reason?: ClientAuthFailure | PasskeyRefusal
  /** `token.revoked`: what the token was. */
  token_type?: 'refresh_token' | 'access_token'
  /** `admin.*`: who made the change: `cli`, or `admin_token:` and the admin token's name. */
  actor?: AdminActor
  /** `admin.key_retired`: the key. */
  kid?: string
  /** `admin.keys_rotated`: the new keys. */
  kids?: string[]
  /** `admin.users_imported`: how many users. */
  count?: number
  /** `admin.token_created`, `admin.token_revoked`: the admin token's id (never the token). */
  admin_token_id?: string
  /** `client.registered` (null in open mode), `admin.registration_token_*`: the initial access token's id (never the token). */
  registration_token_id?: string | null
}

/** An event's own fields, as every audit line names them (the server's log, the CLI's standard error). */
export type EventFields = Omit<AuditEvent, 'time' | 'ip' | 'request_id'>

/** The `onEvent` hook of `buildApp`: called once per event, in the request's context; may be async. */
export type AuditHook = (event: Readonly<AuditEvent>) => void | Promise<void>

/** Events that may mean an attack or a broken client: logged at `warn`, the rest at `info`. */
const WARNINGS: ReadonlySet<SecurityEventType> = new Set(['login.failed', 'login.throttled', 'code.replayed', 'refresh.reused', 'client.auth_failed', 'admin.auth_failed'])

export function auditEvent(event: SecurityEvent, request: Pick<FastifyRequest, 'ip' | 'id'>): AuditEvent {
  const { event: type, client_id, user_id, ...extra } = eventFields(event)
  return { event: type, time: new Date().toISOString(), client_id, user_id, ip: request.ip, request_id: request.id, ...extra }
}

/** The event's type, ids and details in snake_case: what every audit line of it carries, wherever it is written. */
export function eventFields(event: SecurityEvent): EventFields {
  const fields: EventFields = { event: event.type, client_id: event.clientId, user_id: event.userId }
  if ('grantId' in event) fields.grant_id = event.grantId
  if ('reason' in event) fields.reason = event.reason
  if ('amr' in event) fields.amr = event.amr
  if ('tokenType' in event) fields.token_type = event.tokenType
  if ('actor' in event) fields.actor = event.actor
  if ('kid' in event) fields.kid = event.kid
  if ('kids' in event) fields.kids = event.kids
  if ('count' in event) fields.count = event.count
  if ('adminTokenId' in event) fields.admin_token_id = event.adminTokenId
  if ('registrationTokenId' in event) fields.registration_token_id = event.registrationTokenId
  return fields
}

/** The sink a request's protocol steps emit into. */
export function auditSink(request: FastifyRequest, deps: { metrics: Metrics; onEvent: AuditHook | undefined }): EventSink {
  return {
    emit(event) {
      const audit = Object.freeze(auditEvent(event, request))
      // The request's logger binds request_id, and pino writes its own time: not twice on a line.
      const { request_id: _bound, time: _time, ...line } = audit
      if (WARNINGS.has(audit.event)) request.log.warn(line, audit.event)
      else request.log.info(line, audit.event)
      deps.metrics.count(event)
      if (deps.onEvent !== undefined) deliver(deps.onEvent, audit, request)
    },
  }
}

function deliver(hook: AuditHook, audit: Readonly<AuditEvent>, request: FastifyRequest): void {
  const failed = (error: unknown) => request.log.error({ err: error, hookEvent: audit.event }, 'onEvent hook failed')
  try {
    const result = hook(audit)
    if (result instanceof Promise) result.catch(failed)
  } catch (error) {
    failed(error)
  }
}
