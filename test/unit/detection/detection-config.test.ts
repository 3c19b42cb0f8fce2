import { join } from 'node:path';
import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTION, detectionSettings, loadDetectionSettings } from '../../../services/detection/detection-config.ts';
import { PROJECT_ROOT } from '../../../services/project-paths.ts';

describe('detection settings', () => {
  it('the example file spells out the defaults', () => {
    expect(loadDetectionSettings(join(PROJECT_ROOT, 'deploy/detection.example.json'))).toEqual({ ...DEFAULT_DETECTION, channels: ['oncall'] });
  });

  it('names every wrong field at once', () => {
    const checked = validate(detectionSettings, { minute: { scopes: ['team', 'colour'] }, severity: { critical_per_hour: '-5' }, min_requests: 0, runaway: { enabled: 'yes' } });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.issues.map((issue) => issue.path).sort()).toEqual(['min_requests', 'minute.scopes[1]', 'runaway.enabled', 'severity.critical_per_hour']);
  });
});
