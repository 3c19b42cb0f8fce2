import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../services/project-paths.ts';
import { DEFAULT_DIMENSIONS, DEFAULT_OTLP_SETTINGS, loadOtlpSettings } from '../../../services/otlp/otlp-settings.ts';
import { catalogProvider } from '../../../services/ingest/provider-names.ts';

function fileWith(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'otlp-settings-')), 'otlp.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('loadOtlpSettings', () => {
  it('reads deploy/otlp.example.json, which spells out the defaults', () => {
    expect(loadOtlpSettings(join(PROJECT_ROOT, 'deploy/otlp.example.json'))).toEqual(DEFAULT_OTLP_SETTINGS);
  });

  it('uses the defaults when no file is set', () => {
    expect(loadOtlpSettings(null)).toBe(DEFAULT_OTLP_SETTINGS);
    expect(DEFAULT_OTLP_SETTINGS).toMatchObject({ gatewayId: 'otlp', tags: [['gen_ai.agent.name', 'agent'], ['gen_ai.agent.id', 'agent_id']], providers: {} });
    expect([...DEFAULT_OTLP_SETTINGS.modelCallOperations]).toEqual(['chat', 'text_completion', 'generate_content', 'embeddings']);
  });

  it('replaces only the dimensions a file lists, and adds its provider names', () => {
    const settings = loadOtlpSettings(fileWith({ dimensions: { team: ['k8s.namespace.name'], user_id: [] }, providers: { 'my-vllm': 'openai' } }));
    expect(settings.dimensions).toEqual({ ...DEFAULT_DIMENSIONS, team: ['k8s.namespace.name'], user_id: [] });
    expect(catalogProvider('otel', 'my-vllm', settings.providers)).toBe('openai');
    expect(catalogProvider('otel', 'aws.bedrock', settings.providers)).toBe('aws');
  });

  it('reports every problem of a bad file with its path', () => {
    const file = fileWith({ gateway_id: 'Not Valid', dimensions: { squad: ['x'] }, tags: { 'service.version': '9release' }, model_call_operations: [] });
    expect(() => loadOtlpSettings(file)).toThrow(
      `invalid OTLP file ${file}: gateway_id: must be 1-64 lower-case letters, digits, ".", "_" or "-"; dimensions: unknown field: squad; tags.service.version: must be a tag key: a letter, then letters, digits and _ . : / -; model_call_operations: must name at least one operation`,
    );
  });
});
