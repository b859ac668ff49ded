import { describe, expect, it } from '@jest/globals';
import { issuesFromMessages } from '../../../lib/errors/validation-issue.js';

describe('issuesFromMessages', () => {
  it('groups flat pipe messages by field (class-validator and Standard Schema styles)', () => {
    expect(issuesFromMessages(['name must be a string', 'name should not be empty', 'address.city: Required', 'Expected object'])).toEqual([
      { field: 'name', messages: ['name must be a string', 'name should not be empty'] },
      { field: 'address.city', messages: ['Required'] },
      { field: '', messages: ['Expected object'] },
    ]);
  });
});
