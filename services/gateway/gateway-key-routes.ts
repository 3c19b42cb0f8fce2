import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, invalidRequest } from '../api/http-errors.ts';
import { actorOf } from '../api/request-actor.ts';
import { gatewayKeyRequest, isGatewayKeyId, type GatewayKeyStore } from './gateway-keys.ts';

const listQuery = z.strictObject({
  include_revoked: z.enum(['true', 'false'], { message: 'must be true or false' }).default('false').transform((flag) => flag === 'true').describe('Also list revoked keys'),
});

const SHOWN_ONCE = 'This is the only time the key is shown: Spendline keeps only its hash. Store it now; if it is lost, revoke it and issue another.';

/**
 * Gateway keys over HTTP, admin only: issue (the answer carries the key, the
 * one time it is ever shown), list and revoke. Answers and logs name keys by
 * key_id; no answer but the issuing one holds a secret, and none holds a hash.
 */
export function registerGatewayKeyRoutes(app: FastifyInstance, deps: { keys: GatewayKeyStore }): void {
  const { keys } = deps;

  app.post(
    '/v1/admin/gateway-keys',
    { config: { role: 'admin', docs: { tag: 'gateway', summary: 'Issue a gateway API key for an owner, with its model allow list and rate limits; the key is in the answer, shown this once', body: gatewayKeyRequest, responses: { 201: 'Issued: the key (shown once), its key_id and its record' } } } },
    async (request, reply) => {
      const body = validate(gatewayKeyRequest, request.body);
      if (!body.ok) throw invalidRequest(body.issues, 'invalid gateway key request');
      const { key, record } = await keys.issue(body.value, actorOf(request));
      // The body holds a secret: no cache on the way may keep it.
      return reply.status(201).header('cache-control', 'no-store').send({ key, ...record, note: SHOWN_ONCE });
    },
  );

  app.get('/v1/admin/gateway-keys', { config: { role: 'admin', docs: { tag: 'gateway', summary: 'Gateway API keys in force (include_revoked=true: every key ever issued), newest first; never a secret or hash', query: listQuery } } }, async (request) => {
    const query = validate(listQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid gateway key list request');
    return { gateway_keys: await keys.list({ includeRevoked: query.value.include_revoked }) };
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/admin/gateway-keys/:id',
    {
      // A whole key pasted in place of its key_id is in the URL, and the server logs each request's URL at debug level:
      // this route logs from info up, so that line is never written for it.
      logLevel: 'info',
      config: { role: 'admin', docs: { tag: 'gateway', summary: 'Revoke a gateway API key by key_id: gateways refuse it within their refresh interval (revoking a revoked key changes nothing)', errors: { 404: 'No such key' } } },
    },
    async (request) => {
      const { id } = request.params;
      // Not echoed unless it is a key id: a whole key pasted here would otherwise come back in the answer.
      if (!isGatewayKeyId(id)) throw new HttpError(404, 'not_found', 'no such gateway key: name it by its key_id, the 12 characters after slk_');
      const revoked = await keys.revoke(id, actorOf(request));
      if (!revoked) throw new HttpError(404, 'not_found', `no gateway key ${id}`);
      return revoked;
    },
  );
}
