import { randomUUID } from 'node:crypto';

/** A valid usage event in its JSON form, with overridable fields. */
export function usageEventJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    occurred_at: '2026-11-02T10:00:00.000Z',
    provider: 'openai',
    model: 'gpt-4o-mini',
    operation: 'chat',
    input_tokens: 1000,
    output_tokens: 100,
    team: 'search',
    environment: 'prod',
    ...overrides,
  };
}
