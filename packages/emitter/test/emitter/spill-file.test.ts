import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SPILL_FILE_NAME, SpillFile } from '../../src/emitter/spill-file.ts';
import { spillLine } from '../../src/emitter/spill-format.ts';
import { silentLogger as log } from '../../src/logger.ts';

/** Stand-ins with a valid single-object header (the file never decodes bodies). */
const event = (key: string) => ({ key, value: Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 7), Buffer.from(key)]) });
const keys = (events: readonly { key: string }[]) => events.map((e) => e.key);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spendline-spill-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('SpillFile', () => {
  it('reads back what was appended, oldest first, and empties the file only when all of it is committed', () => {
    const spill = SpillFile.open(dir, log);
    spill.append([event('a'), event('b')]);
    spill.append([event('c')]);
    const first = spill.read(2);
    expect(keys(first.events)).toEqual(['a', 'b']);
    // Not committed: a retry reads the same events again.
    expect(keys(spill.read(2).events)).toEqual(['a', 'b']);
    spill.commit(first.end);
    expect(statSync(spill.path).size).toBeGreaterThan(0);
    spill.append([event('d')]);
    const rest = spill.read(10);
    expect(keys(rest.events)).toEqual(['c', 'd']);
    spill.commit(rest.end);
    expect(spill.pendingBytes).toBe(0);
    expect(statSync(spill.path).size).toBe(0);
    spill.append([event('e')]);
    expect(keys(spill.read(10).events)).toEqual(['e']);
    spill.close();
  });

  it('keeps what was not acknowledged across a close and reopen, and drops what was', () => {
    const spill = SpillFile.open(dir, log);
    spill.append([event('a'), event('b'), event('c')]);
    spill.commit(spill.read(1).end);
    spill.close();
    expect(readFileSync(join(dir, SPILL_FILE_NAME), 'utf8')).toBe(spillLine(event('b')) + spillLine(event('c')));
    const reopened = SpillFile.open(dir, log);
    expect(keys(reopened.read(10).events)).toEqual(['b', 'c']);
    reopened.close();
  });

  it('after a crash (no close), replays the file from its start: resends, never losses', () => {
    const spill = SpillFile.open(dir, log);
    spill.append([event('a'), event('b')]);
    spill.commit(spill.read(1).end);
    // What a crash at this point leaves behind: the file as it is, and a lock naming a dead process.
    const crashed = mkdtempSync(join(tmpdir(), 'spendline-spill-crashed-'));
    copyFileSync(spill.path, join(crashed, SPILL_FILE_NAME));
    writeFileSync(join(crashed, 'usage-events.spill.lock'), '2147483646');
    const successor = SpillFile.open(crashed, log);
    expect(keys(successor.read(10).events)).toEqual(['a', 'b']);
    successor.close();
    spill.close();
    rmSync(crashed, { recursive: true, force: true });
  });

  it('sets a torn tail and damaged lines aside in the corrupt file and replays the rest', () => {
    writeFileSync(join(dir, SPILL_FILE_NAME), `${spillLine(event('a'))}garbage\n${spillLine(event('b'))}{"event_id":"c","av`);
    const spill = SpillFile.open(dir, log);
    spill.append([event('d')]);
    const read = spill.read(10);
    expect(keys(read.events)).toEqual(['a', 'b', 'd']);
    // Read twice (a failed send retried): each corrupt line is copied aside once.
    spill.read(10);
    spill.commit(read.end);
    expect(spill.pendingBytes).toBe(0);
    expect(readFileSync(join(dir, 'usage-events.spill.corrupt'), 'utf8')).toBe('garbage\n{"event_id":"c","av\n');
    spill.close();
  });

  it('lets one emitter use a directory at a time, and takes over a lock a dead process left', () => {
    const spill = SpillFile.open(dir, log);
    expect(() => SpillFile.open(dir, log)).toThrow(/already used by another emitter/);
    spill.close();
    expect(existsSync(join(dir, 'usage-events.spill.lock'))).toBe(false);
    // A pid far above pid_max: no such process.
    writeFileSync(join(dir, 'usage-events.spill.lock'), '2147483646');
    const again = SpillFile.open(dir, log);
    expect(readFileSync(join(dir, 'usage-events.spill.lock'), 'utf8')).toBe(String(process.pid));
    again.close();
  });

  it('refuses a directory whose lock a live process holds', () => {
    // The parent of this test process is alive and is not us.
    writeFileSync(join(dir, 'usage-events.spill.lock'), String(process.ppid));
    expect(() => SpillFile.open(dir, log)).toThrow(new RegExp(`in use by process ${process.ppid}`));
  });

  it('reads lines longer than one read chunk', () => {
    const big = { key: 'big', value: Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(900 * 1024, 1)]) };
    const spill = SpillFile.open(dir, log);
    spill.append([event('a'), big, event('b')]);
    const seen: { key: string; value: Buffer }[] = [];
    while (spill.pendingBytes > 0) {
      const read = spill.read(10);
      seen.push(...read.events);
      spill.commit(read.end);
    }
    expect(keys(seen)).toEqual(['a', 'big', 'b']);
    expect(seen[1]!.value.equals(big.value)).toBe(true);
    spill.close();
  });
});
