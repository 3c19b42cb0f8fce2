import type { FieldIssue } from '@spendline/emitter/field-issues';
import { bytesField, stringField, varintField } from './protobuf-writer.ts';

/**
 * OTLP/HTTP answers, in the encoding of the request (the spec requires the
 * response Content-Type to match the request's): ExportTraceServiceResponse
 * on 200, with partial_success only when spans were rejected, and a
 * google.rpc.Status for every 4xx and 5xx, with a google.rpc.BadRequest
 * detail listing the fields at fault when there are any.
 */

export type OtlpEncoding = 'protobuf' | 'json';

export const CONTENT_TYPES: Readonly<Record<OtlpEncoding, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

export interface PartialSuccess {
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/** ExportTraceServiceResponse: empty on full success (partial_success MUST be unset then). */
export function exportTraceServiceResponse(encoding: OtlpEncoding, partial: PartialSuccess | null): Buffer {
  if (encoding === 'json') {
    // int64 as a decimal string, per the proto3 JSON mapping.
    const body = partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {};
    return Buffer.from(JSON.stringify(body), 'utf8');
  }
  if (!partial) return Buffer.alloc(0);
  // ExportTraceServiceResponse.partial_success = 1 { rejected_spans = 1 (int64); error_message = 2 }
  return bytesField(1, Buffer.concat([varintField(1, partial.rejectedSpans), stringField(2, partial.errorMessage)]));
}

/** google.rpc.Code values for the HTTP statuses Spendline answers (the spec lets clients ignore them). */
const GRPC_CODES: Readonly<Record<number, number>> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 5, // NOT_FOUND
  413: 8, // RESOURCE_EXHAUSTED
  415: 3, // INVALID_ARGUMENT
  429: 8, // RESOURCE_EXHAUSTED
  503: 14, // UNAVAILABLE
};

const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/** google.rpc.Status for a failed request; issues become a BadRequest detail (field violations). */
export function rpcStatus(encoding: OtlpEncoding, httpStatus: number, message: string, issues: readonly FieldIssue[] = []): Buffer {
  const code = GRPC_CODES[httpStatus] ?? (httpStatus >= 500 ? 13 /* INTERNAL */ : 2); /* UNKNOWN */
  if (encoding === 'json') {
    const details = issues.length > 0 ? [{ '@type': BAD_REQUEST_TYPE, fieldViolations: issues.map((issue) => ({ field: issue.path, description: issue.message })) }] : [];
    return Buffer.from(JSON.stringify({ code, message, details }), 'utf8');
  }
  // Status { code = 1; message = 2; details = 3 (google.protobuf.Any { type_url = 1; value = 2 }) }
  // BadRequest { field_violations = 1 (FieldViolation { field = 1; description = 2 }) }
  const details =
    issues.length > 0
      ? bytesField(
          3,
          Buffer.concat([
            stringField(1, BAD_REQUEST_TYPE),
            bytesField(2, Buffer.concat(issues.map((issue) => bytesField(1, Buffer.concat([stringField(1, issue.path), stringField(2, issue.message)]))))),
          ]),
        )
      : Buffer.alloc(0);
  return Buffer.concat([varintField(1, code), stringField(2, message), details]);
}
