import { sqlOne } from '../db/sql';
import { useTestDatabase } from '../../tests/support/databases';
import { raiseConflictIssue } from './conflict';

const db = useTestDatabase();

describe('raiseConflictIssue', () => {
  it('keeps the evidence of a target value PostgreSQL cannot store as it is (U+0000, a lone surrogate) with U+FFFD in their place', async () => {
    await raiseConflictIssue(db.orm, {
      outboxId: '7', ticketId: '1', ticketNumber: 'T20261206-0001', connector: 'crm', route: 'crm-case', targetKey: 'crm:case:500x',
      targetId: '500x', field: 'Status', junctionValue: 'Closed', targetValue: 'Working\u0000 on it \uD83D', seenVersion: '1', targetVersion: '2',
    });
    const issue = await sqlOne<{ kind: string; evidence: any; message: string }>(db.orm, `select kind, evidence, message from data_issue where fingerprint = 'WRITEBACK_CONFLICT:crm:case:500x'`);
    expect(issue).toMatchObject({ kind: 'WRITEBACK_CONFLICT', evidence: { targetValue: 'Working\uFFFD on it \uFFFD', junctionValue: 'Closed' } });
    expect(issue!.message).toContain('crm has "Working\\u0000 on it \\ud83d"');
  });
});
