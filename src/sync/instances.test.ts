import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConnectorError } from '../connectors/errors';
import { describeUnknown, loadConnectorInstances, loadStreamCatalog, loadSyncSetup } from './instances';
import { DEFAULT_EVERY_MS } from './schedule';

let dir: string;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'junction-instances-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ERP = `
connectors:
  - name: erp
    type: kingdee
    baseUrl: https://erp.example.test/k3cloud/
    credentials: { username: { env: KD_USER_FOR_TEST }, password: { env: KD_PASSWORD_FOR_TEST } }
    options: { acctId: 5f1c2d3e4a5b6c }
    streams:
      customers: { pageSize: 100, schedule: { every: 5m } }
      inventory: { schedule: false }
`;
const env = { KD_USER_FOR_TEST: 'u', KD_PASSWORD_FOR_TEST: 'p' };

describe('connector instances from junction.config.yaml', () => {
  it('builds each instance with its type and system, and every stream with its schedule', () => {
    const setup = loadSyncSetup(file('a.yaml', ERP), { env });
    const erp = setup.instances.get('erp')!;
    expect({ name: erp.name, type: erp.type, system: erp.system }).toEqual({ name: 'erp', type: 'kingdee', system: 'erp' });
    expect(Object.keys(erp.connector.streams)).toEqual(['customers', 'materials', 'sales_orders', 'serials', 'inventory']);
    // The connector got its own settings (pageSize) and never saw `schedule`, which it would refuse.
    expect((erp.connector as any).specs.customers.pageSize).toBe(100);
    expect(setup.schedules).toEqual([
      { connector: 'erp', stream: 'customers', spec: { every: 300_000 } },
      { connector: 'erp', stream: 'materials', spec: { every: DEFAULT_EVERY_MS } },
      { connector: 'erp', stream: 'sales_orders', spec: { every: DEFAULT_EVERY_MS } },
      { connector: 'erp', stream: 'serials', spec: { every: DEFAULT_EVERY_MS } },
      { connector: 'erp', stream: 'inventory', spec: null },
    ]);
    expect([...loadConnectorInstances(file('a.yaml', ERP), { env }).keys()]).toEqual(['erp']);
  });

  it('still lets the connector refuse its own unknown settings', () => {
    const bad = ERP.replace('pageSize: 100', 'pagesize: 100');
    expect(() => loadSyncSetup(file('b.yaml', bad), { env })).toThrow(/streams\.customers\.pagesize: unknown setting/);
  });

  it('needs the credentials to build instances, but not to list streams (what the gateway does)', () => {
    let err: unknown;
    try {
      loadSyncSetup(file('c.yaml', ERP), { env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).message).toMatch(/KD_USER_FOR_TEST, which is not set/);
    const catalog = loadStreamCatalog(file('c.yaml', ERP));
    expect(catalog).toEqual(new Map([['erp', ['customers', 'materials', 'sales_orders', 'serials', 'inventory']]]));
  });

  it('names the valid connectors and streams for unknown ones', () => {
    const catalog = new Map([['erp', ['customers', 'inventory']], ['crm', ['accounts']]]);
    expect(describeUnknown(catalog, 'erp', 'inventory')).toBeNull();
    expect(describeUnknown(catalog, 'erp')).toBeNull();
    expect(describeUnknown(catalog, 'iot')).toEqual({ field: 'connector', message: 'unknown connector "iot" (configured: crm, erp)' });
    expect(describeUnknown(catalog, 'erp', 'stock')).toEqual({ field: 'stream', message: 'unknown stream "stock" of connector erp (streams: customers, inventory)' });
    expect(describeUnknown(new Map(), 'erp')?.message).toMatch(/configured: none/);
  });
});
