import { validate } from '@spendline/emitter/field-issues';
import { EVENT_LIMITS, isStorableTag, usageEventJson } from '@spendline/emitter/usage-event';
import { describe, expect, it } from 'vitest';
import { FULL_USAGE_EVENT_JSON } from '../../fixtures/usage-event-examples.ts';

const CASES: readonly [string, string, string][] = [
  ['a plain tag', 'release', '2026.11'],
  ['the longest key', 'k'.repeat(EVENT_LIMITS.maxTagKeyLength), 'v'],
  ['a key one too long', 'k'.repeat(EVENT_LIMITS.maxTagKeyLength + 1), 'v'],
  ['the longest value', 'release', 'v'.repeat(EVENT_LIMITS.maxTagValueLength)],
  ['a value one too long', 'release', 'v'.repeat(EVENT_LIMITS.maxTagValueLength + 1)],
  ['an empty value', 'flag', ''],
  ['a key of every allowed character', 'a.b_c:d/e-f9', 'v'],
  ['a key starting with a digit', '9lives', 'v'],
  ['a key with a space', 'user agent', 'v'],
  ['an empty key', '', 'v'],
  ['a __proto__ key', '__proto__', 'v'],
  ['a value with a newline', 'release', 'a\nb'],
  ['a value with NUL', 'release', 'a\u0000'],
  ['a value with a C1 control', 'release', 'a\u0085'],
  ['a value with non-ASCII text', 'city', 'Zürich – 東京'],
];

describe('isStorableTag', () => {
  it.each(CASES)('agrees with the tags field of the schema on %s', (_what, key, value) => {
    const stored = validate(usageEventJson, { ...FULL_USAGE_EVENT_JSON, tags: JSON.parse(JSON.stringify({ [key]: value })) }).ok;
    expect(isStorableTag(key, value)).toBe(stored);
  });

  it('refuses what the schema refuses, as the cases show both ways', () => {
    expect(CASES.map(([, key, value]) => isStorableTag(key, value))).toEqual([true, true, false, true, false, true, true, false, false, false, false, false, false, false, true]);
  });
});
