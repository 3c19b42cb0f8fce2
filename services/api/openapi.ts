import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import type { Role } from '../auth/bearer-tokens.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How the route appears in the OpenAPI description served at /docs. */
    docs?: RouteDocs;
  }
}

/**
 * What a route tells its readers. The query and body schemas are the very zod
 * schemas the handler validates with, so the description cannot drift from
 * what is enforced.
 */
export interface RouteDocs {
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Media types the body may also come as, each with its schema (`body` is the application/json one). */
  readonly bodyMediaTypes?: Readonly<Record<string, z.ZodType>>;
  /** What a success answers (status → description); 200 by default. */
  readonly responses?: Readonly<Record<number, string>>;
  /** Error statuses beyond the ones every route with a role has (401, 403) and validation (400). */
  readonly errors?: Readonly<Record<number, string>>;
}

interface DocumentedRoute {
  readonly method: string;
  readonly url: string;
  readonly role: Role | undefined;
  /** null: a route that needs a token but says nothing about itself (listed, so a test can catch it). */
  readonly docs: RouteDocs | null;
}

const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Machine-readable error class, e.g. invalid_request, unauthorized, not_found' },
        message: { type: 'string' },
        issues: {
          type: 'array',
          description: 'Every problem found, each at its field path',
          items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
};

/** Collects the documented routes as they are added; call before any route is registered. */
export function collectRouteDocs(app: FastifyInstance): () => readonly DocumentedRoute[] {
  const routes: DocumentedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config as { docs?: RouteDocs; role?: Role } | undefined;
    if (!config?.docs && !config?.role) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method: method.toLowerCase(), url: route.url, role: config.role, docs: config.docs ?? null });
    }
  });
  return () => routes;
}

/** The OpenAPI 3.1 document of the documented routes. */
export function openApiDocument(routes: readonly DocumentedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const undocumented = routes.filter((route) => route.docs === null).map((route) => `${route.method.toUpperCase()} ${route.url}`);
  for (const { docs, ...route } of routes) {
    if (docs === null) continue;
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const pathParameters = [...route.url.matchAll(/:(\w+)/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = docs.query ? jsonSchema(docs.query) : null;
    const queryParameters = query
      ? Object.entries((query['properties'] ?? {}) as Record<string, Record<string, unknown>>).map(([name, schema]) => ({
          name,
          in: 'query',
          required: ((query['required'] as string[] | undefined) ?? []).includes(name),
          schema,
          ...(typeof schema['description'] === 'string' ? { description: schema['description'] } : {}),
        }))
      : [];
    const errors: Record<number, string> = { 400: 'Invalid parameters or body: every problem with its field path' };
    if (route.role) {
      errors[401] = 'Missing or unknown bearer token';
      errors[403] = `The token lacks the ${route.role} role (or its scope forbids this)`;
    }
    Object.assign(errors, docs.errors);
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: docs.summary,
      ...(docs.description ? { description: docs.description } : {}),
      tags: [docs.tag],
      ...(route.role ? { security: [{ bearer: [] }], 'x-spendline-role': route.role } : {}),
      parameters: [...pathParameters, ...queryParameters],
      ...(docs.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: jsonSchema(docs.body) },
                ...Object.fromEntries(Object.entries(docs.bodyMediaTypes ?? {}).map(([type, schema]) => [type, { schema: jsonSchema(schema) }])),
              },
            },
          }
        : {}),
      responses: {
        ...Object.fromEntries(Object.entries(docs.responses ?? { 200: 'Success' }).map(([status, description]) => [status, { description, content: { 'application/json': {} } }])),
        ...Object.fromEntries(Object.entries(errors).map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Spendline API', version, description: 'Usage analytics for AI traffic: ingest, pricing, attribution, reports. Money is always an exact decimal string in USD.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Roles: admin (everything), reader (reports; may be scoped to teams or tenants), ingest (POST /v1/events only)' } },
      schemas: { Error: ERROR_BODY },
    },
    paths,
    ...(undocumented.length > 0 ? { 'x-undocumented-routes': undocumented } : {}),
  };
}

/** A zod schema as the JSON Schema of what a client sends (transforms described by their input). */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** GET /docs (a readable page) and GET /docs/openapi.json (the document), public like /healthz. */
export function registerDocsRoutes(app: FastifyInstance, routes: () => readonly DocumentedRoute[], version: string): void {
  app.get('/docs/openapi.json', async () => openApiDocument(routes(), version));
  app.get('/docs', async (_request, reply) => {
    const document = openApiDocument(routes(), version) as { paths: Record<string, Record<string, { summary: string; tags: string[]; parameters: { name: string; in: string; required: boolean }[]; 'x-spendline-role'?: string }>> };
    const rows = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(
        ([method, operation]) =>
          `<tr><td>${escape(operation.tags[0] ?? '')}</td><td><code>${method.toUpperCase()} ${escape(path)}</code></td><td>${escape(operation['x-spendline-role'] ?? 'public')}</td><td>${escape(operation.summary)}</td><td>${operation.parameters.map((p) => `<code>${escape(p.name)}</code>${p.required ? '*' : ''}`).join(' ')}</td></tr>`,
      ),
    );
    reply.header('content-type', 'text/html; charset=utf-8');
    return `<!doctype html><html><head><meta charset="utf-8"><title>Spendline API</title><style>body{font:14px system-ui;margin:2em}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style></head><body><h1>Spendline API ${escape(version)}</h1><p>The full description, with every parameter's schema and every error: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1). * = required.</p><table><tr><th>Area</th><th>Endpoint</th><th>Role</th><th>What it does</th><th>Parameters</th></tr>${rows.join('')}</table></body></html>`;
  });
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}
