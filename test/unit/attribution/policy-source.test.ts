import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import { PolicySource } from '../../../services/attribution/policy-source.ts';
import { createLogger } from '../../../services/logging/logger.ts';

const log = createLogger('silent');

let dir: string;
let file: string;
/** Each write gets an mtime 10 s later than the one before, so a change is seen whatever the file system's timestamp resolution. */
let mtime = Date.UTC(2026, 0, 1) / 1000;

function write(text: string): void {
  writeFileSync(file, text);
  mtime += 10;
  utimesSync(file, mtime, mtime);
}

const policyText = (version: string, extra: Record<string, unknown> = {}) => JSON.stringify({ version, ...extra });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spendline-policy-source-'));
  file = join(dir, 'attribution-policy.json');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('PolicySource', () => {
  it('gives the built-in policy when no file is configured, and keeps giving it', () => {
    const source = new PolicySource(null, log);
    expect(source.file).toBeNull();
    expect(source.current()).toBe(AttributionPolicy.builtIn);
    expect(source.refresh()).toBe(AttributionPolicy.builtIn);
    expect(source.current(Date.now() + 60_000)).toBe(AttributionPolicy.builtIn);
    expect(source.lastFailure).toBeNull();
  });

  it('loads a valid file', () => {
    write(policyText('v1', { requirements: [{ id: 'owner', dimensions: ['team'], on_missing: 'reject' }] }));
    const source = new PolicySource(file, log);
    expect(source.file).toBe(file);
    const loaded = source.current();
    expect(loaded.version).toBe('v1');
    expect(loaded.requirements.map((requirement) => requirement.id)).toEqual(['owner']);
    expect(source.lastFailure).toBeNull();
  });

  it('derives the version from the content when the file has none', () => {
    write('{"rules": []}');
    expect(new PolicySource(file, log).current().version).toMatch(/^policy-[0-9a-f]{12}$/);
  });

  it('reloads on change, keeps the last good policy through a bad edit, and clears the failure once fixed', () => {
    write(policyText('v1'));
    const source = new PolicySource(file, log);
    const v1 = source.current();
    expect(v1.version).toBe('v1');

    // Unchanged file: the same compiled policy, not a reload.
    expect(source.refresh(1_000)).toBe(v1);

    write(policyText('v2', { non_production_environments: ['sandbox'] }));
    const v2 = source.refresh(2_000);
    expect(v2.version).toBe('v2');
    expect(v2.nonProductionEnvironments).toEqual(['sandbox']);
    expect(source.loadedAt).toBe(2_000);
    expect(source.lastFailure).toBeNull();

    write('{"version": "v3", ');
    expect(source.refresh(3_000)).toBe(v2);
    expect(source.current(3_000)).toBe(v2);
    expect(source.lastFailure?.at).toBe(3_000);
    expect(source.lastFailure?.message).toMatch(/^attribution policy is not JSON: /);
    expect(source.loadedAt).toBe(2_000);

    write(policyText('v3', { rules: [{ id: 'a', when: {}, set: { team: 'x' } }] }));
    expect(source.refresh(4_000)).toBe(v2);
    expect(source.lastFailure).toEqual({ at: 4_000, message: 'invalid attribution policy: rules[0].when: must test at least one field' });

    write(policyText('v4'));
    expect(source.refresh(5_000).version).toBe('v4');
    expect(source.lastFailure).toBeNull();
    expect(source.loadedAt).toBe(5_000);
  });

  it('sees a change of size alone (same mtime)', () => {
    writeFileSync(file, policyText('v1'));
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    const source = new PolicySource(file, log);
    writeFileSync(file, policyText('v22'));
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(source.refresh(1_000).version).toBe('v22');
  });

  it('sees a change of mtime alone (same size)', () => {
    write(policyText('v1'));
    const source = new PolicySource(file, log);
    write(policyText('v2'));
    expect(source.refresh(1_000).version).toBe('v2');
  });

  it('does not retry a failed edit until the file changes again', () => {
    write(policyText('v1'));
    const source = new PolicySource(file, log);
    write('not json');
    source.refresh(1_000);
    expect(source.lastFailure?.at).toBe(1_000);
    source.refresh(2_000);
    expect(source.lastFailure?.at).toBe(1_000);
  });

  it('keeps the last good policy when the file is deleted', () => {
    write(policyText('v1'));
    const source = new PolicySource(file, log);
    unlinkSync(file);
    expect(source.refresh(1_000).version).toBe('v1');
    expect(source.lastFailure?.message).toContain('ENOENT');
  });

  it.each<[string, string | null, RegExp]>([
    ['invalid JSON', '{', /^attribution policy is not JSON: /],
    ['an invalid policy', policyText('v1', { bogus: true }), /^invalid attribution policy: policy: unknown field: bogus$/],
    ['a missing file', null, /ENOENT/],
  ])('throws at startup for %s', (_what, text, message) => {
    if (text !== null) write(text);
    expect(() => new PolicySource(file, log)).toThrow(message);
  });

  it('current(now) looks at the file no more often than checkEveryMs', () => {
    write(policyText('v1'));
    const source = new PolicySource(file, log, 10_000);
    write(policyText('v2'));
    // Never looked yet: the first look is due at checkEveryMs after 0.
    expect(source.current(5_000).version).toBe('v1');
    expect(source.current(9_999).version).toBe('v1');
    expect(source.current(10_000).version).toBe('v2');

    write(policyText('v3'));
    expect(source.current(15_000).version).toBe('v2');
    expect(source.current(19_999).version).toBe('v2');
    expect(source.current(20_000).version).toBe('v3');
  });

  it('refresh() looks at once, whatever checkEveryMs says', () => {
    write(policyText('v1'));
    const source = new PolicySource(file, log, 60_000);
    expect(source.current(60_000).version).toBe('v1');
    write(policyText('v2'));
    expect(source.current(60_001).version).toBe('v1');
    expect(source.refresh(60_002).version).toBe('v2');
    expect(source.current(60_003).version).toBe('v2');
  });
});
