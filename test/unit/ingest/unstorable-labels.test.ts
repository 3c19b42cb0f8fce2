import { ATTRIBUTION_FIELDS, EVENT_LIMITS } from '@spendline/emitter/usage-event';
import { describe, expect, it } from 'vitest';
import { droppedLabelTag, isLabelField, labelProblem, tagsWithNotes } from '../../../services/ingest/unstorable-labels.ts';

describe('labelProblem', () => {
  it.each([...ATTRIBUTION_FIELDS, 'error_code' as const])('judges %s by its own field schema', (field) => {
    const max = field === 'error_code' ? 128 : EVENT_LIMITS.maxNameLength;
    expect(labelProblem(field, 'x'.repeat(max))).toBeNull();
    expect(labelProblem(field, 'x'.repeat(max + 1))).toBe(`must be at most ${max} characters`);
    expect(labelProblem(field, 'line\nbreak')).toBe('must not contain control characters');
  });

  it('trims where the schema trims: surrounding spaces never cost a team its name', () => {
    expect(labelProblem('team', ` ${'x'.repeat(EVENT_LIMITS.maxNameLength)} `)).toBeNull();
  });

  it('knows which fields a call can be kept without', () => {
    expect(['team', 'api_key_id', 'error_code'].every(isLabelField)).toBe(true);
    expect(['model', 'provider', 'tags', 'constructor'].some(isLabelField)).toBe(false);
  });
});

describe('droppedLabelTag', () => {
  it('names where the value came from and why it was left out', () => {
    expect(droppedLabelTag('team', 'resource attribute spendline.team', 'must be at most 256 characters')).toEqual(['spendline.dropped.team', 'resource attribute spendline.team: must be at most 256 characters']);
  });

  it('stays a storable tag whatever the source', () => {
    const [, long] = droppedLabelTag('feature', 's'.repeat(400), 'must not contain control characters');
    expect(long).toHaveLength(EVENT_LIMITS.maxTagValueLength);
    expect(droppedLabelTag('feature', 'header\nx', 'must not contain control characters')[1]).toBe('must not contain control characters');
  });
});

describe('tagsWithNotes', () => {
  it('puts the notes first, takes a key once, and stops at the tag limit', () => {
    const tags = Array.from({ length: 60 }, (_, index) => [`t${index}`, 'v'] as const);
    const merged = tagsWithNotes([['spendline.dropped.team', 'why']], [['spendline.dropped.team', 'claimed'], ...tags]);
    expect(Object.keys(merged)).toHaveLength(EVENT_LIMITS.maxTags);
    expect(merged['spendline.dropped.team']).toBe('why');
    expect(merged['t48']).toBe('v');
    expect(merged).not.toHaveProperty('t49');
  });
});
