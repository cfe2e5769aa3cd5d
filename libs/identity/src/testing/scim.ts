import { expect } from '@jest/globals';
import { ScimError } from '../idp/scim/scim-error';

/** The `ScimError` that `fn` throws, for specs to assert on; the test fails if it throws anything else or nothing. */
export const scimErrorOf = (fn: () => unknown): ScimError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error('expected a ScimError');
};
