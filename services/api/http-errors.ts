import type { FieldIssue } from '@spendline/emitter/field-issues';

/** An error with a status and a body the client may see. Anything else answers 500 with no details. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly issues: readonly FieldIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: number, code: string, message: string, options: { issues?: readonly FieldIssue[]; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

export function invalidRequest(issues: readonly FieldIssue[], message = 'the request is invalid'): HttpError {
  return new HttpError(400, 'invalid_request', message, { issues });
}

/** fastify's own client errors, renamed to Spendline's error codes. */
export const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'the body is empty; send a JSON array of events' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'the body is larger than this server accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'this route does not take that Content-Type: send application/json (the API description at /docs lists the media types each route takes)' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', message: 'Content-Length does not match the body' },
};
