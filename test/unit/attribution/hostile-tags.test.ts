import { validate, type FieldIssue } from '@spendline/emitter/field-issues';
import { EVENT_LIMITS, usageEventJson, usageEventRecord } from '@spendline/emitter/usage-event';
import { afterEach, describe, expect, it } from 'vitest';
import { minimalUsageEventRecord } from '../../fixtures/usage-event-examples.ts';

const BASE = { event_id: 'evt-1', occurred_at: '2026-11-23T10:15:00Z', provider: 'openai', model: 'gpt-4o' };

/** Validates the JSON text of an event (as POST /v1/events receives it) with the given tags/fields. */
function checkText(text: string) {
  return validate(usageEventJson, JSON.parse(text));
}

function check(fields: Record<string, unknown>) {
  return validate(usageEventJson, { ...BASE, ...fields });
}

function issuesOf(fields: Record<string, unknown>): FieldIssue[] {
  const checked = check(fields);
  if (checked.ok) throw new Error(`expected ${JSON.stringify(fields)} to be rejected`);
  return checked.issues;
}

const CONTROL = 'must not contain control characters';
const KEY_SHAPE = 'must start with a letter and use only letters, digits and _ . : / -';

afterEach(() => {
  // Whatever a test did, leave no pollution behind for the next one.
  delete (Object.prototype as Record<string, unknown>)['polluted'];
});

describe('hostile tags: __proto__', () => {
  const text = (tags: string) => JSON.stringify(BASE).replace(/}$/, `,"tags":${tags}}`);

  it.each([
    ['an object value', '{"__proto__": {"polluted": "yes"}}'],
    ['a string value', '{"__proto__": "yes"}'],
    ['beside a good tag', '{"region": "eu", "__proto__": {"polluted": "yes"}}'],
  ])('never pollutes Object.prototype (%s)', (_what, tags) => {
    const parsedBody = JSON.parse(text(tags)) as { tags: object };
    // JSON.parse makes __proto__ an own key, the hostile shape a body arrives in.
    expect(Object.keys(parsedBody.tags)).toContain('__proto__');
    const checked = checkText(text(tags));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    if (checked.ok) {
      // Whatever happens to it, the key must not survive into the record or its prototype.
      expect(Object.getPrototypeOf(checked.value.tags)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(checked.value.tags, '__proto__')).toBe(false);
      expect((checked.value.tags as Record<string, unknown>)['polluted']).toBeUndefined();
    }
  });

  // zod's z.record skips an own "__proto__" key without running the key schema; the event schema
  // must refuse it by name rather than drop the tag silently.
  it('rejects a __proto__ tag key, naming the key', () => {
    const checked = checkText(text('{"__proto__": {"polluted": "yes"}}'));
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.issues.map((issue) => issue.path)).toEqual(['tags.__proto__']);
  });
});

describe('hostile tags: keys', () => {
  it.each<[string, string]>([
    ['starting with a digit', '1bad'],
    ['starting with an underscore', '_private'],
    ['containing a space', 'has space'],
    ['containing a newline', 'new\nline'],
    ['containing NUL', 'nul\u0000key'],
    ['containing markup', '<script>'],
    ['empty', ''],
    [`longer than ${EVENT_LIMITS.maxTagKeyLength}`, 'k'.repeat(EVENT_LIMITS.maxTagKeyLength + 1)],
  ])('rejects a key %s, naming it in the path', (_what, key) => {
    // A key may break more than one rule (a newline is a control character and not a key character): each is reported, at the key.
    expect(new Set(issuesOf({ tags: { good: 'v', [key]: 'v' } }).map((issue) => issue.path))).toEqual(new Set([`tags.${key}`]));
  });

  it.each([
    ['the longest allowed key', 'k'.repeat(EVENT_LIMITS.maxTagKeyLength)],
    ['every allowed punctuation', 'a1_b.c:d/e-f'],
    ['an upper-case start', 'Region'],
  ])('accepts %s', (_what, key) => {
    const checked = check({ tags: { [key]: 'v' } });
    expect(checked.ok && checked.value.tags).toEqual({ [key]: 'v' });
  });

  // A failing record key is zod's invalid_key ("Invalid key in record"); the key schema's own
  // messages (from usage-event.ts) must reach the sender.
  it('says what is wrong with a key starting with a digit', () => {
    expect(issuesOf({ tags: { '1bad': 'v' } })).toEqual([{ path: 'tags.1bad', message: KEY_SHAPE }]);
  });

  it('says what is wrong with a key over 64 characters', () => {
    const key = 'k'.repeat(65);
    expect(issuesOf({ tags: { [key]: 'v' } })).toEqual([{ path: `tags.${key}`, message: 'must be at most 64 characters' }]);
  });

  it('says a key with a newline contains a control character', () => {
    expect(issuesOf({ tags: { 'new\nline': 'v' } }).map((issue) => issue.message)).toContain(CONTROL);
  });
});

describe('hostile tags: values and count', () => {
  it.each<[string, string, FieldIssue[]]>([
    [`longer than ${EVENT_LIMITS.maxTagValueLength}`, 'v'.repeat(EVENT_LIMITS.maxTagValueLength + 1), [{ path: 'tags.note', message: 'must be at most 256 characters' }]],
    ['with NUL', 'a\u0000b', [{ path: 'tags.note', message: CONTROL }]],
    ['with a newline', 'line1\nline2', [{ path: 'tags.note', message: CONTROL }]],
    ['with a carriage return', 'a\rb', [{ path: 'tags.note', message: CONTROL }]],
    ['with an ANSI escape', '\u001b[31mred', [{ path: 'tags.note', message: CONTROL }]],
    ['with DEL', 'a\u007f', [{ path: 'tags.note', message: CONTROL }]],
    ['with a C1 control', 'a\u0085b', [{ path: 'tags.note', message: CONTROL }]],
    [
      'both too long and with a control character',
      `${'v'.repeat(EVENT_LIMITS.maxTagValueLength)}\n`,
      [
        { path: 'tags.note', message: 'must be at most 256 characters' },
        { path: 'tags.note', message: CONTROL },
      ],
    ],
  ])('rejects a value %s', (_what, value, expected) => {
    expect(issuesOf({ tags: { region: 'eu', note: value } })).toEqual(expected);
  });

  it.each([
    ['the longest allowed value', 'v'.repeat(EVENT_LIMITS.maxTagValueLength)],
    ['non-ASCII text', 'café – ✓ 東京'],
    ['an empty value', ''],
    ['a tab-free value with spaces', 'a b  c'],
  ])('accepts %s', (_what, value) => {
    const checked = check({ tags: { note: value } });
    expect(checked.ok && checked.value.tags).toEqual({ note: value });
  });

  it(`rejects ${EVENT_LIMITS.maxTags + 1} tags and accepts ${EVENT_LIMITS.maxTags}`, () => {
    const tags = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 'v']));
    expect(issuesOf({ tags: tags(51) })).toEqual([{ path: 'tags', message: 'must have at most 50 tags' }]);
    const checked = check({ tags: tags(50) });
    expect(checked.ok && Object.keys(checked.value.tags)).toHaveLength(50);
  });

  it.each([
    ['an array', ['a']],
    ['a string', 'region=eu'],
    ['null', null],
  ])('rejects tags given as %s', (_what, tags) => {
    expect(issuesOf({ tags }).map((issue) => issue.path)).toEqual(['tags']);
  });

  it('rejects a non-string tag value', () => {
    expect(issuesOf({ tags: { count: 3 } })).toEqual([{ path: 'tags.count', message: 'must be a string, got number' }]);
  });
});

describe('hostile names: control characters in attribution fields', () => {
  it.each<[string, string]>([
    ['team', 'search\nDROP'],
    ['feature', 'a\u0000b'],
    ['environment', 'pr\rod'],
    ['tenant_id', '\u001b[2Jacme'],
    ['user_id', 'u\t1'],
    ['api_key_id', 'key\n'],
    ['gateway_id', 'gw\u0007'],
  ])('rejects %s %j', (field, value) => {
    expect(issuesOf({ [field]: value })).toEqual([{ path: field, message: CONTROL }]);
  });

  it('rejects a field over 256 characters', () => {
    expect(issuesOf({ team: 't'.repeat(257) })).toEqual([{ path: 'team', message: 'must be at most 256 characters' }]);
  });

  it.each<[string, string, string]>([
    ['team', '  search  ', 'search'],
    ['team', ' search\n ', 'search'],
    ['environment', 'prod\r\n', 'prod'],
  ])('trims surrounding whitespace of %s %j (control characters at the edges included) and accepts it', (field, value, expected) => {
    const checked = check({ [field]: value });
    expect(checked.ok && (checked.value as Record<string, unknown>)[field]).toBe(expected);
  });

  it('does not trim ids: user_id with a trailing newline is rejected', () => {
    expect(issuesOf({ user_id: 'u-1\n' })).toEqual([{ path: 'user_id', message: CONTROL }]);
  });
});

describe('the decoded record (events produced straight to Kafka) gets the same checks', () => {
  it.each<[string, Record<string, unknown>, FieldIssue[]]>([
    ['team with a newline', { team: 'a\nb' }, [{ path: 'team', message: CONTROL }]],
    ['a tag value with NUL', { tags: { note: '\u0000' } }, [{ path: 'tags.note', message: CONTROL }]],
    ['a tag value too long', { tags: { note: 'v'.repeat(257) } }, [{ path: 'tags.note', message: 'must be at most 256 characters' }]],
    ['51 tags', { tags: Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`k${index}`, 'v'])) }, [{ path: 'tags', message: 'must have at most 50 tags' }]],
  ])('%s', (_what, overrides, expected) => {
    const checked = validate(usageEventRecord, { ...minimalUsageEventRecord(), ...overrides });
    expect(checked.ok ? [] : checked.issues).toEqual(expected);
  });

  it('rejects a bad tag key in a record, naming it', () => {
    const checked = validate(usageEventRecord, minimalUsageEventRecord({ tags: { '9lives': 'v' } }));
    expect(checked.ok ? [] : checked.issues.map((issue) => issue.path)).toEqual(['tags.9lives']);
  });
});
