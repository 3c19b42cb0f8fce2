/**
 * node --import tsx test/bench/otlp-decode-bench.ts — how long POST /v1/traces
 * spends decoding one body, JSON and protobuf, on one core:
 *
 * - a realistic export: 8,192 GenAI spans (the collector's batch size) as the
 *   OpenTelemetry SDK serializes them, 24 attributes each under a resource of 8;
 * - hostile bodies that stay within OTLP_MAX_BODY_BYTES: one attribute whose
 *   arrayValue holds millions of empty values (12 MB of JSON, 12 KB gzipped),
 *   and the same in protobuf. They must be refused about as fast as a
 *   realistic body is read;
 * - the worst bodies the limits let through: 122 attributes of 16,384 empty
 *   values each, just under DECODE_LIMITS (2 million JSON objects, 2 million
 *   values), the most work a request can make the decoders do.
 *
 * BENCH_ROUNDS (default 5) timed rounds after one warm-up; the median is shown.
 */
import { gzipSync } from 'node:zlib';
import { DECODE_LIMITS } from '../../services/otlp/otlp-model.ts';
import { bytesField, stringField } from '../../services/otlp/protobuf-writer.ts';
import { decodeTraceRequestJson } from '../../services/otlp/trace-request-json.ts';
import { decodeTraceRequestProtobuf } from '../../services/otlp/trace-request-protobuf.ts';
import { jsonBody, protobufBody, recordSpans } from '../unit/otlp/sdk-spans.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SPANS = 8192;
const HOSTILE_VALUES = 3_990_000;

const resource = {
  'service.name': 'checkout-assistant',
  'service.version': '2026.11.3',
  'deployment.environment.name': 'prod',
  'telemetry.sdk.language': 'python',
  'telemetry.sdk.name': 'opentelemetry',
  'telemetry.sdk.version': '1.38.0',
  'host.name': 'ip-10-0-12-34',
  'spendline.team': 'search',
};
const spans = recordSpans(
  resource,
  Array.from({ length: SPANS }, (_, index) => ({
    name: 'chat gpt-4o-mini',
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.id': `chatcmpl-${index.toString(36).padStart(24, 'x')}`,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.top_p': 1,
      'gen_ai.request.max_tokens': 1024,
      'gen_ai.request.stream': index % 2 === 0,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 1200 + index,
      'gen_ai.usage.output_tokens': 180,
      'gen_ai.usage.cache_read.input_tokens': 1024,
      'gen_ai.usage.reasoning.output_tokens': 0,
      'gen_ai.conversation.id': `conv-${index % 97}`,
      'gen_ai.agent.name': 'order-helper',
      'gen_ai.response.time_to_first_chunk': 0.41,
      'server.address': 'api.openai.com',
      'server.port': 443,
      'http.response.status_code': 200,
      'spendline.feature': 'answers',
      'spendline.user_id': `user-${index % 500}`,
      'code.function.name': 'answer_question',
      'thread.id': 140_213_337,
    },
  })),
);
const realisticJson = jsonBody(spans).toString('utf8');
const realisticProtobuf = protobufBody(spans);

const hostileJson = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[{"key":"x","value":{"arrayValue":{"values":[${'{},'.repeat(HOSTILE_VALUES - 1)}{}]}}}]}]}]}]}`;
// The same shape in protobuf: AnyValue { array_value = 5 { values = 1 (empty AnyValue) … } }.
const emptyValues = Buffer.alloc(HOSTILE_VALUES * 2);
for (let at = 0; at < emptyValues.length; at += 2) emptyValues[at] = 0x0a;
const hostileProtobuf = bytesField(1, bytesField(2, bytesField(2, bytesField(9, Buffer.concat([stringField(1, 'x'), bytesField(2, bytesField(5, emptyValues))])))));

const LIST = DECODE_LIMITS.maxListValues;
const WORST_ATTRIBUTES = Math.floor(DECODE_LIMITS.maxValues / (LIST + 4));
const fullList = `{"arrayValue":{"values":[${'{},'.repeat(LIST - 1)}{}]}}`;
const worstJson = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[${Array.from({ length: WORST_ATTRIBUTES }, (_, index) => `{"key":"k${index}","value":${fullList}}`).join(',')}]}]}]}]}`;
const fullListProtobuf = bytesField(5, emptyValues.subarray(0, LIST * 2));
const worstProtobuf = bytesField(1, bytesField(2, bytesField(2, Buffer.concat(Array.from({ length: WORST_ATTRIBUTES }, (_, index) => bytesField(9, Buffer.concat([stringField(1, `k${index}`), bytesField(2, fullListProtobuf)])))))));

function time(decode: () => { ok: boolean }): { medianMs: number; ok: boolean } {
  let ok = decode().ok;
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    ok = decode().ok;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { medianMs: Math.round(times[Math.floor(times.length / 2)]!), ok };
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const results = {
  realistic: {
    spans: SPANS,
    json: { mb: mb(Buffer.byteLength(realisticJson)), gzipKb: Math.round(gzipSync(realisticJson).length / 1024), ...time(() => decodeTraceRequestJson(realisticJson)) },
    protobuf: { mb: mb(realisticProtobuf.length), ...time(() => decodeTraceRequestProtobuf(realisticProtobuf)) },
  },
  hostile: {
    arrayValues: HOSTILE_VALUES,
    json: { mb: mb(Buffer.byteLength(hostileJson)), gzipKb: Math.round(gzipSync(hostileJson).length / 1024), ...time(() => decodeTraceRequestJson(hostileJson)) },
    protobuf: { mb: mb(hostileProtobuf.length), ...time(() => decodeTraceRequestProtobuf(hostileProtobuf)) },
  },
  worstWithinLimits: {
    attributes: WORST_ATTRIBUTES,
    valuesEach: LIST,
    json: { mb: mb(Buffer.byteLength(worstJson)), ...time(() => decodeTraceRequestJson(worstJson)) },
    protobuf: { mb: mb(worstProtobuf.length), ...time(() => decodeTraceRequestProtobuf(worstProtobuf)) },
  },
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
