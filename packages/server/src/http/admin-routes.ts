/**
 * The admin API's resources (issue #20), each a thin adapter over one operation of the admin
 * service (`src/admin/`), which checks every value, writes, and emits the audit event. Here only
 * the HTTP shape: the path, the schemas, the status, where a created object lives.
 */
import {
  createClient,
  listClients,
  removeClient,
  rotateClientSecret,
  showClient,
  updateClient,
  type ClientUpdate,
  type NewClient,
} from '../admin/clients.js'
import { revokeGrant } from '../admin/grants.js'
import { listKeys, rotateKeys } from '../admin/keys.js'
import { createRegistrationToken, listRegistrationTokens, revokeRegistrationToken } from '../admin/registration-tokens.js'
import { createUser, listUsers, removeUser, showUser, updateUser, type NewUser, type UserUpdate } from '../admin/users.js'
import { openApiDocument, type AdminAnswer, type AdminRoute } from './admin-openapi.js'
import { idParameter, type NewRegistrationToken } from './admin-schemas.js'

const ok = (body: unknown): AdminAnswer => ({ status: 200, body })
const noContent: AdminAnswer = { status: 204 }

const CLIENT_ID = { client_id: { schema: idParameter('the client_id'), description: 'the client_id' } }
const USER_ID = { id: { schema: idParameter('the user\'s id (the OpenID sub)'), description: 'the user\'s id (the OpenID sub)' } }

/**
 * Fastify checked the body against the route's schema before the handler runs: its members and
 * their types are those of `T` (the service checks each value again).
 */
const bodyAs = <T>(body: unknown): T => body as T

// The path of an object named by an id: encoded, since an imported user id may hold any printable character.
const at = (collection: string, id: string): string => `/admin/${collection}/${encodeURIComponent(id)}`

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/admin/clients',
    operationId: 'listClients',
    tag: 'clients',
    summary: 'List the clients',
    success: { status: 200, description: 'Every client', schema: { list: 'Client' } },
    handle: async (ctx) => ok(await listClients(ctx)),
  },
  {
    method: 'POST',
    path: '/admin/clients',
    operationId: 'createClient',
    tag: 'clients',
    summary: 'Register a client',
    description: 'A confidential client\'s secret is in the answer, this once; it is stored only as a hash.',
    body: { schema: 'NewClient', required: true },
    success: { status: 201, description: 'The client, with its secret when it has one', schema: 'ClientWithSecret', location: true },
    problems: ['conflict'],
    handle: async (ctx, { body }) => {
      const created = await createClient(ctx, bodyAs<NewClient>(body))
      return { status: 201, body: created, location: at('clients', created.client_id) }
    },
  },
  {
    method: 'GET',
    path: '/admin/clients/{client_id}',
    operationId: 'showClient',
    tag: 'clients',
    summary: 'Show a client',
    params: CLIENT_ID,
    success: { status: 200, description: 'The client', schema: 'Client' },
    handle: async (ctx, { params }) => ok(await showClient(ctx, params.client_id ?? '')),
  },
  {
    method: 'PATCH',
    path: '/admin/clients/{client_id}',
    operationId: 'updateClient',
    tag: 'clients',
    summary: 'Change a client\'s metadata',
    description: 'By the rules of a registration. A redirect URI no longer listed is refused at /authorize from now on.',
    params: CLIENT_ID,
    body: { schema: 'ClientUpdate', required: true },
    success: { status: 200, description: 'The client as it is now', schema: 'Client' },
    handle: async (ctx, { params, body }) => ok(await updateClient(ctx, params.client_id ?? '', bodyAs<ClientUpdate>(body))),
  },
  {
    method: 'DELETE',
    path: '/admin/clients/{client_id}',
    operationId: 'removeClient',
    tag: 'clients',
    summary: 'Remove a client',
    description: 'Everything issued to it goes with it: codes, grants, tokens, consents, sign-ins in progress.',
    params: CLIENT_ID,
    success: { status: 204, description: 'Removed' },
    handle: async (ctx, { params }) => {
      await removeClient(ctx, params.client_id ?? '')
      return noContent
    },
  },
  {
    method: 'POST',
    path: '/admin/clients/{client_id}/secret',
    operationId: 'rotateClientSecret',
    tag: 'clients',
    summary: 'Give a confidential client a new secret',
    description:
      'The new secret is in the answer, this once. The replaced one stops working at once, or after `grace` seconds for a rollout without downtime; ' +
      'a secret still in an earlier grace period stops at once either way.',
    params: CLIENT_ID,
    body: { schema: 'SecretRotation', required: false },
    success: { status: 200, description: 'The client with its new secret', schema: 'ClientWithSecret' },
    handle: async (ctx, { params, body }) => ok(await rotateClientSecret(ctx, params.client_id ?? '', bodyAs<{ grace?: number } | undefined>(body)?.grace)),
  },
  {
    method: 'GET',
    path: '/admin/users',
    operationId: 'listUsers',
    tag: 'users',
    summary: 'List the users',
    description: 'In username order (byte order), a page at a time: the next page starts after the last username of this one.',
    query: {
      after: { schema: { type: 'string', description: 'a username' }, description: 'start after this username' },
      limit: { schema: { type: 'integer', description: '1 to 1000' }, description: 'at most this many users (1 to 1000; default: all)' },
    },
    success: { status: 200, description: 'The users', schema: { list: 'User' } },
    handle: async (ctx, { query }) => {
      const page = query as { after?: string; limit?: number }
      return ok(await listUsers(ctx, { ...(page.after === undefined ? {} : { after: page.after }), ...(page.limit === undefined ? {} : { limit: page.limit }) }))
    },
  },
  {
    method: 'POST',
    path: '/admin/users',
    operationId: 'createUser',
    tag: 'users',
    summary: 'Add a user',
    body: { schema: 'NewUser', required: true },
    success: { status: 201, description: 'The user', schema: 'User', location: true },
    problems: ['conflict'],
    handle: async (ctx, { body }) => {
      const created = await createUser(ctx, bodyAs<NewUser>(body))
      return { status: 201, body: created, location: at('users', created.id) }
    },
  },
  {
    method: 'GET',
    path: '/admin/users/{id}',
    operationId: 'showUser',
    tag: 'users',
    summary: 'Show a user',
    params: USER_ID,
    success: { status: 200, description: 'The user', schema: 'User' },
    handle: async (ctx, { params }) => ok(await showUser(ctx, { id: params.id ?? '' })),
  },
  {
    method: 'PATCH',
    path: '/admin/users/{id}',
    operationId: 'updateUser',
    tag: 'users',
    summary: 'Change a user: profile, password, disabled',
    description:
      'A new password ends every session of the user. Disabling ends their sessions and revokes every grant and token at once ' +
      '(refresh: invalid_grant; introspection: inactive; userinfo: 401); their sign-in then fails as for a wrong password.',
    params: USER_ID,
    body: { schema: 'UserUpdate', required: true },
    success: { status: 200, description: 'The user as it is now', schema: 'User' },
    handle: async (ctx, { params, body }) => ok(await updateUser(ctx, { id: params.id ?? '' }, bodyAs<UserUpdate>(body))),
  },
  {
    method: 'DELETE',
    path: '/admin/users/{id}',
    operationId: 'removeUser',
    tag: 'users',
    summary: 'Remove a user',
    description: 'And everything of theirs: sessions, consents, grants, codes, tokens.',
    params: USER_ID,
    success: { status: 204, description: 'Removed' },
    handle: async (ctx, { params }) => {
      await removeUser(ctx, { id: params.id ?? '' })
      return noContent
    },
  },
  {
    method: 'GET',
    path: '/admin/keys',
    operationId: 'listKeys',
    tag: 'keys',
    summary: 'List the signing keys with their state and dates',
    success: { status: 200, description: 'Every key, oldest first', schema: { list: 'Key' } },
    handle: async (ctx) => ok(await listKeys(ctx)),
  },
  {
    method: 'POST',
    path: '/admin/keys/rotate',
    operationId: 'rotateKeys',
    tag: 'keys',
    summary: 'Publish new signing keys',
    description: 'One per algorithm; they sign after keys.activationDelay, and the current keys stay published until their tokens expire.',
    success: { status: 200, description: 'The new keys', schema: 'KeyRotation' },
    handle: async (ctx) => ok(await rotateKeys(ctx)),
  },
  {
    method: 'DELETE',
    path: '/admin/grants/{id}',
    operationId: 'revokeGrant',
    tag: 'grants',
    summary: 'Revoke a grant and every token issued under it',
    description: 'Its codes and refresh tokens stop working and its access tokens are revoked (introspection: inactive; userinfo: 401).',
    params: { id: { schema: idParameter('the grant id (grant_id in audit events)'), description: 'the grant id (grant_id in audit events)' } },
    success: { status: 204, description: 'Revoked (or revoked already)' },
    handle: async (ctx, { params }) => {
      await revokeGrant(ctx, params.id ?? '')
      return noContent
    },
  },
  {
    method: 'GET',
    path: '/admin/registration-tokens',
    operationId: 'listRegistrationTokens',
    tag: 'registration-tokens',
    summary: 'List the registration tokens',
    description: 'As authcode registration-token list --json: revoked and expired ones included, oldest first; never a token.',
    success: { status: 200, description: 'Every registration token', schema: { list: 'RegistrationToken' } },
    handle: async (ctx) => ok(await listRegistrationTokens(ctx)),
  },
  {
    method: 'POST',
    path: '/admin/registration-tokens',
    operationId: 'createRegistrationToken',
    tag: 'registration-tokens',
    summary: 'Make an initial access token for dynamic client registration',
    description:
      'As authcode registration-token create --json. The token is in the answer, this once; it is stored only as a hash. ' +
      'With registration.mode token, a client registers at the registration endpoint only with one as Authorization: Bearer.',
    body: { schema: 'NewRegistrationToken', required: true },
    success: { status: 201, description: 'The token with its id, name and expiry', schema: 'RegistrationTokenWithToken' },
    problems: ['conflict'],
    handle: async (ctx, { body }) => {
      const { name, expires_in: expiresIn } = bodyAs<NewRegistrationToken>(body)
      return { status: 201, body: await createRegistrationToken(ctx, name, expiresIn) }
    },
  },
  {
    method: 'DELETE',
    path: '/admin/registration-tokens/{id}',
    operationId: 'revokeRegistrationToken',
    tag: 'registration-tokens',
    summary: 'Revoke a registration token',
    description:
      'As authcode registration-token revoke: it registers nothing from now on; the clients it registered stay. ' +
      'A token revoked already is 409.',
    params: { id: { schema: idParameter('the token\'s id, or the name of a token not revoked'), description: 'the token\'s id, or the name of a token not revoked' } },
    success: { status: 204, description: 'Revoked' },
    problems: ['conflict'],
    handle: async (ctx, { params }) => {
      await revokeRegistrationToken(ctx, params.id ?? '')
      return noContent
    },
  },
  {
    method: 'GET',
    path: '/admin/openapi.json',
    operationId: 'openApiDocument',
    tag: 'document',
    summary: 'This OpenAPI 3.1 document',
    success: { status: 200, description: 'The document', schema: 'document' },
    handle: async () => ok(adminOpenApiDocument()),
  },
]

let document: Record<string, unknown> | undefined

/** The OpenAPI document of `ADMIN_ROUTES`, made once. */
export function adminOpenApiDocument(): Record<string, unknown> {
  document ??= openApiDocument(ADMIN_ROUTES)
  return document
}
