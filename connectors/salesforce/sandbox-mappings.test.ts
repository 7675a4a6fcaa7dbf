/**
 * The sandbox org through the real mapping engine and mappings/salesforce/*.jsonata: what the hub
 * would make of it must be the demo data set's customers and complaints, the deliberate
 * disagreements included (and the record that cannot be matched reported, not dropped).
 */
import { DemoDataset, generateDemoDataset } from '../../src/demo/dataset';
import { MappingEngine } from '../../src/mapping/engine';
import { buildSalesforceSandboxData, SalesforceSandboxData, SandboxStories } from './sandbox/data';

const engine = new MappingEngine();
let dataset: DemoDataset;
let data: SalesforceSandboxData & { stories: SandboxStories };

beforeAll(() => {
  dataset = generateDemoDataset();
  data = buildSalesforceSandboxData({ dataset });
});

/** As the stream emits it: the query result record with its attributes. */
function payload(type: string, rec: Record<string, unknown>) {
  return { attributes: { type, url: `/services/data/v59.0/sobjects/${type}/${String(rec.Id)}` }, ...rec };
}

it('every Account maps to its demo customer: phone, name, tier and region', async () => {
  for (const c of dataset.customers) {
    const acc = data.Account.find((a) => a.Id === c.crmId)!;
    const out = await engine.evaluate('salesforce/accounts', payload('Account', acc), { externalId: acc.Id });
    expect(out).toEqual({ entity: 'customer', phone: c.phone, name: c.name, tier: c.tier, region: c.region });
  }
});

it('every Contact maps to its account customer, except the one without a phone, which is reported', async () => {
  const phoneByAccount = new Map(dataset.customers.map((c) => [c.crmId, c.phone]));
  for (const k of data.Contact) {
    const run = engine.evaluate('salesforce/contacts', payload('Contact', k), { externalId: k.Id });
    if (k.Id === data.stories.phonelessContactId) {
      await expect(run).rejects.toThrow(`Salesforce contact ${k.Id}`);
      continue;
    }
    const out = (await run) as { entity: string; phone: string; name: string };
    expect(out.entity).toBe('customer');
    expect(out.phone).toBe(phoneByAccount.get(String(k.AccountId)));
  }
});

it('every Case maps to a complaint with the ticket device serial and the status the CRM has', async () => {
  const byCase = new Map<string, string>([[data.stories.openCaseOfResolvedTicket.caseId, data.stories.openCaseOfResolvedTicket.ticketNumber]]);
  const serials = new Set(dataset.devices.map((d) => d.serial));
  let open = 0;
  for (const k of data.Case) {
    const out = (await engine.evaluate('salesforce/cases', payload('Case', k), { externalId: k.Id })) as Record<string, unknown>;
    expect(out).toMatchObject({ entity: 'complaint', caseNumber: k.CaseNumber, customer: { ref: { stream: 'accounts', externalId: k.AccountId } } });
    if (out.serial !== null) expect(serials.has(String(out.serial))).toBe(true);
    expect(out.status).toBe(k.IsClosed ? 'CLOSED' : 'OPEN');
    if (out.status === 'OPEN') open++;
  }
  expect(open).toBeGreaterThan(0);
  const mismatch = data.Case.find((k) => byCase.has(k.Id))!;
  const ticket = dataset.tickets.find((t) => t.number === byCase.get(mismatch.Id))!;
  const out = (await engine.evaluate('salesforce/cases', payload('Case', mismatch))) as Record<string, unknown>;
  expect(ticket.status).toBe('RESOLVED');
  expect(out).toMatchObject({ status: 'OPEN', serial: ticket.deviceSerial, closedAt: null });
});
