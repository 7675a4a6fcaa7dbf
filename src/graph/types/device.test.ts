import 'reflect-metadata';
import { Device, WarrantyStatus } from './device';

describe('Device warranty days', () => {
  const row = { id: '1', serial: 'SN1', model: 'M', firmware: null, warranty_end: '2026-06-30', lineage: {} };

  it('counts days on the sources\' calendar (China time), as ticket enrichment does', () => {
    // 17:00 UTC on 30 June is already 1 July in China: the warranty ended yesterday there.
    const evening = Device.fromRow(row, new Date('2026-06-30T17:00:00Z'));
    expect(evening).toMatchObject({ warrantyDaysLeft: -1, warrantyStatus: WarrantyStatus.OUT_OF_WARRANTY });
    const morning = Device.fromRow(row, new Date('2026-06-30T01:00:00Z'));
    expect(morning).toMatchObject({ warrantyDaysLeft: 0, warrantyStatus: WarrantyStatus.IN_WARRANTY });
  });

  it('is UNKNOWN without a warranty end', () => {
    expect(Device.fromRow({ ...row, warranty_end: null })).toMatchObject({ warrantyDaysLeft: null, warrantyStatus: WarrantyStatus.UNKNOWN });
  });
});
