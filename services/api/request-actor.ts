import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Who made a change: the name the caller declares (x-spendline-actor) and the fingerprint of its token, never the token. */
export function actorOf(request: FastifyRequest): string {
  const declared = String(request.headers['x-spendline-actor'] ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 128) || 'unnamed';
  const token = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
  return `${declared} (token ${createHash('sha256').update(token).digest('hex').slice(0, 12)})`;
}
