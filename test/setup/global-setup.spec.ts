import { describe, expect, it } from '@jest/globals';
import { needsInfrastructure } from './global-setup';

const jest = ['node', 'node_modules/jest/bin/jest.js'];

describe('needsInfrastructure', () => {
  it.each([
    ['a run of every project', [], true],
    ['unit only', ['--selectProjects', 'unit'], false],
    [
      'unit only, with a path pattern swallowed by --selectProjects',
      ['--selectProjects', 'unit', 'libs/config'],
      false,
    ],
    ['unit only, --selectProjects=unit', ['--selectProjects=unit', 'libs/config'], false],
    ['integration', ['--selectProjects', 'integration', '--maxWorkers=2', 'libs/database'], true],
    ['e2e', ['--selectProjects', 'e2e'], true],
    ['the cluster tier, which starts its own', ['--selectProjects', 'cluster'], false],
    ['everything but the cluster tier', ['--ignoreProjects', 'cluster'], true],
    ['unit and integration', ['--selectProjects', 'unit', 'integration'], true],
    ['everything but integration and e2e', ['--ignoreProjects', 'integration', 'e2e'], false],
    ['everything but e2e', ['--ignoreProjects', 'e2e'], true],
  ])('%s', (_name, args, expected) => {
    expect(needsInfrastructure({}, [...jest, ...(args as string[])])).toBe(expected);
  });

  it('prefers the global config when jest provides the selection there', () => {
    expect(needsInfrastructure({ selectProjects: ['unit'] }, [...jest])).toBe(false);
    expect(needsInfrastructure({ selectProjects: ['integration'] }, [...jest])).toBe(true);
  });
});
