import type { FastifyRequest } from 'fastify';
import { HttpError } from '../api/http-errors.ts';

/** fastify's default JSON parser (secure-json-parse: `__proto__` and `constructor.prototype` keys refused). */
export type JsonBodyParser = (request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void;

/**
 * A body parser for gateways that may send JSON Lines under
 * `Content-Type: application/json`: LiteLLM's generic API logger does with
 * `log_format: ndjson`. The body is read as JSON first, exactly as every other
 * route reads it; only a body that is not one JSON value but has several
 * lines is read line by line, each line one item (blank lines skipped), and
 * becomes the array of them. A line that is not JSON is named by its number.
 */
export function jsonOrJsonLines(parseJson: JsonBodyParser): (request: FastifyRequest, body: string) => Promise<unknown> {
  const parse = (request: FastifyRequest, text: string) =>
    new Promise<unknown>((resolve, reject) => parseJson(request, text, (err, value) => (err ? reject(err) : resolve(value))));
  return async (request, body) => {
    try {
      return await parse(request, body);
    } catch (err) {
      const lines = body.split('\n');
      if (lines.filter((line) => line.trim() !== '').length < 2) throw err;
      const items: unknown[] = [];
      for (const [at, line] of lines.entries()) {
        if (line.trim() === '') continue;
        try {
          items.push(await parse(request, line));
        } catch {
          throw new HttpError(400, 'invalid_json', `line ${at + 1} of the body is not valid JSON (the body is neither one JSON value nor JSON Lines)`);
        }
      }
      return items;
    }
  };
}
