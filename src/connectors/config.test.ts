import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import nock from 'nock';
import { ConfigError, loadConnectorsConfig, parseConnectorsConfig, resolveCredentials } from './config';
import type { ConnectorConfig, ConnectorDefinition } from './contract';
import { ConnectorError } from './errors';
import { ConnectorRegistry, createConnector, createConnectors } from './registry';
import { fakeClock } from './test-clock';

const VALID = `
server: { port: 4000 }     # other sections belong to other parts of the hub
connectors:
  - name: crm
    type: salesforce
    baseUrl: https://acme.my.salesforce.test
    credentials:
      clientId: { env: SF_CLIENT_ID }
      clientSecret: { env: SF_CLIENT_SECRET }
    timeoutMs: 20000
    retry: { maxAttempts: 3 }
    rateLimit: { requestsPerSecond: 5, maxConcurrent: 2 }
    streams:
      accounts: { pageSize: 500 }
      cases:
  - name: iot-sandbox
    type: thingsboard
    baseUrl: http://127.0.0.1:9090
    sandbox: true
    credentials:
      username: { value: tenant@thingsboard.org }
      password: { value: tenant }
`;

function issuesOf(text: string) {
  try {
    parseConnectorsConfig(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONNECTOR_MISCONFIGURED');
    return err as ConfigError;
  }
  throw new Error('expected the config to be refused');
}

describe('parseConnectorsConfig', () => {
  it('reads a valid file', () => {
    const cfg = parseConnectorsConfig(VALID, 'test.yaml');
    expect(cfg.connectors.map((c) => c.name)).toEqual(['crm', 'iot-sandbox']);
    expect(cfg.connectors[0]).toEqual({
      name: 'crm',
      type: 'salesforce',
      baseUrl: 'https://acme.my.salesforce.test',
      sandbox: false,
      credentials: { clientId: { env: 'SF_CLIENT_ID' }, clientSecret: { env: 'SF_CLIENT_SECRET' } },
      timeoutMs: 20000,
      retry: { maxAttempts: 3 },
      rateLimit: { requestsPerSecond: 5, maxConcurrent: 2 },
      streams: { accounts: { pageSize: 500 }, cases: {} },
      options: {},
    });
  });

  it('reports every problem with its path and line', () => {
    const err = issuesOf(`connectors:
  - name: crm
    type: salesforce
    baseUrl: https://ok.test
  - name: Bad Name
    type: kingdee
    baseUrl: ftp://erp.test
    baseURL: https://typo.test
    retry: { maxAttempts: 0, jitter: true }
  - name: crm
    type: thingsboard
`);
    expect(err.issues.map((i) => `${i.path}@${i.line}`)).toEqual([
      'connectors[1].baseURL@8',
      'connectors[1].name@5',
      'connectors[1].baseUrl@7',
      'connectors[1].retry.maxAttempts@9',
      'connectors[1].retry.jitter@9',
      'connectors[2].name@10',
      'connectors[2].baseUrl@10',
    ]);
    expect(err.message).toContain('connectors[1].baseUrl (line 7): required: an http(s) URL');
    expect(err.message).toContain('connectors[2].name (line 10): duplicate name "crm" (also connectors[0])');
  });

  it('never echoes a credential written in clear, and allows literals only for sandboxes', () => {
    const err = issuesOf(`connectors:
  - name: crm
    type: salesforce
    baseUrl: https://ok.test
    credentials:
      clientSecret: s3cr3t-in-clear
      password: { value: also-s3cr3t }
`);
    expect(err.issues.map((i) => i.path)).toEqual(['connectors[0].credentials.clientSecret', 'connectors[0].credentials.password']);
    expect(err.issues[1].message).toContain('sandbox: true');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('reports YAML syntax errors with their line', () => {
    const err = issuesOf('connectors:\n  - name: crm\n    name: again\n');
    expect(err.issues[0].line).toBe(3);
    expect(err.message).toContain('test.yaml');
  });

  it('refuses a file that is not a mapping or a connectors value that is not a list', () => {
    expect(issuesOf('- a\n- b\n').issues[0].path).toBe('(root)');
    expect(issuesOf('connectors: { name: crm }\n').issues[0].path).toBe('connectors');
  });
});

describe('loadConnectorsConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-config-'));

  it('reads the path in JUNCTION_CONFIG', () => {
    const file = join(dir, 'custom.yaml');
    writeFileSync(file, VALID);
    const cfg = loadConnectorsConfig(undefined, { JUNCTION_CONFIG: file });
    expect(cfg.source).toBe(file);
    expect(cfg.connectors).toHaveLength(2);
  });

  it('fails when an explicitly named file is missing', () => {
    expect(() => loadConnectorsConfig(undefined, { JUNCTION_CONFIG: join(dir, 'nope.yaml') })).toThrow(/not found \(from JUNCTION_CONFIG\)/);
  });
});

describe('resolveCredentials', () => {
  const [crm, sandbox] = parseConnectorsConfig(VALID).connectors;

  it('reads env vars into Secrets', () => {
    const creds = resolveCredentials(crm, { SF_CLIENT_ID: 'id-1', SF_CLIENT_SECRET: 'secret-1' });
    expect(creds.clientSecret.reveal()).toBe('secret-1');
    expect(JSON.stringify(creds)).not.toContain('secret-1');
    expect(resolveCredentials(sandbox, {}).password.reveal()).toBe('tenant');
  });

  it('names the connector, field and variable of every missing env var, never a value', () => {
    let err: ConnectorError | undefined;
    try {
      resolveCredentials(crm, { SF_CLIENT_ID: 'id-visible-only-if-leaked' });
    } catch (e) {
      err = e as ConnectorError;
    }
    expect(err?.code).toBe('CONNECTOR_MISCONFIGURED');
    expect(err?.connector).toBe('crm');
    expect(err?.message).toBe('connector crm: credentials.clientSecret needs environment variable SF_CLIENT_SECRET, which is not set');
    expect(err?.message).not.toContain('id-visible-only-if-leaked');
  });
});

describe('registry', () => {
  afterAll(() => nock.cleanAll());
  const received: ConnectorConfig[] = [];
  const fake: ConnectorDefinition = {
    name: 'salesforce',
    system: 'crm',
    create(config, deps) {
      received.push(config);
      const http = deps.http({ timeoutMs: 1 }); // connector default; config's 20000 wins
      return {
        name: config.name,
        streams: {},
        async healthCheck() {
          const res = await http.get('/services/data');
          return { ok: res.status === 200 };
        },
      };
    },
  };

  it('builds instances of registered types with resolved credentials and config-driven HTTP', async () => {
    const registry = new ConnectorRegistry();
    registry.register(fake);
    expect(() => registry.register(fake)).toThrow(/already registered/);
    const cfg = parseConnectorsConfig(VALID);
    const clock = fakeClock();
    const crm = createConnector(cfg.connectors[0], { registry, env: { SF_CLIENT_ID: 'a', SF_CLIENT_SECRET: 'b' }, clock });
    expect(received[0].credentials.clientId.reveal()).toBe('a');

    // Timeout from config (20 s), not the connector's 1 ms default; pacing from config (5/s).
    nock('https://acme.my.salesforce.test').get('/services/data').times(2).delay(20).reply(200, {});
    expect(await crm.healthCheck()).toEqual({ ok: true });
    expect(await crm.healthCheck()).toEqual({ ok: true });
    expect(clock.sleeps).toEqual([200]);
  });

  it('refuses an unknown type naming the registered ones', () => {
    const registry = new ConnectorRegistry();
    registry.register(fake);
    const cfg = parseConnectorsConfig(VALID);
    expect(() => createConnectors(cfg, { registry, env: { SF_CLIENT_ID: 'a', SF_CLIENT_SECRET: 'b' } })).toThrow(
      'connector iot-sandbox: unknown type "thingsboard" (registered: salesforce)',
    );
  });
});
