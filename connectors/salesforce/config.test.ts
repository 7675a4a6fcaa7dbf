import { readFileSync } from 'fs';
import { join } from 'path';
import nock from 'nock';
import { ConnectorError, createConnector, fakeClock, parseConnectorsConfig } from '../../src/connectors';
import './index';

const ENV = { SF_CLIENT_ID: 'id-123', SF_CLIENT_SECRET: 'secret-456', SF_USERNAME: 'u@acme.test', SF_PASSWORD: 'pw' };

function create(yaml: string, env: Record<string, string> = ENV) {
  const cfg = parseConnectorsConfig(yaml, 'test.yaml');
  return createConnector(cfg.connectors[0], { clock: fakeClock(), env, logger: () => undefined });
}

/** nock hands a form body over parsed (an object) or as text, depending on its content type. */
function formOf(body: unknown): Record<string, string> {
  return typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : (body as Record<string, string>);
}

function misconfigured(yaml: string): ConnectorError {
  try {
    create(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('CONNECTOR_MISCONFIGURED');
    return err as ConnectorError;
  }
  throw new Error('expected CONNECTOR_MISCONFIGURED');
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => nock.cleanAll());

it('the README config example points the connector at a real org by configuration alone', async () => {
  const readme = readFileSync(join(__dirname, 'README.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(yaml).toBeDefined();
  const connector = create(yaml!);
  expect(connector.name).toBe('crm');
  expect(Object.keys(connector.streams)).toEqual(['accounts', 'contacts', 'cases']);
  // It talks to the configured org with the client credentials from the environment.
  const scope = nock('https://acme.my.salesforce.com')
    .post('/services/oauth2/token', (body) => formOf(body).client_secret === 'secret-456' && formOf(body).client_id === 'id-123')
    .reply(200, { access_token: 'T', instance_url: 'https://acme.my.salesforce.com', token_type: 'Bearer' })
    .get('/services/data/v59.0/')
    .reply(200, { query: '/services/data/v59.0/query' });
  expect((await connector.healthCheck()).ok).toBe(true);
  expect(scope.isDone()).toBe(true);
});

it('reports every problem at once, with its path, never a credential value', () => {
  const err = misconfigured(`connectors:
  - name: crm
    type: salesforce
    baseUrl: https://acme.my.salesforce.test
    credentials:
      clientId: { env: SF_CLIENT_ID }
      username: { env: SF_USERNAME }
      clientSecrets: { env: SF_CLIENT_SECRET }
    options:
      apiVersion: latest
      loginUrl: https://login.salesforce.com/services/oauth2/token
      allowedInstanceUrls: [ "ftp://x" ]
      instanceUrl: https://x.test
      settleSeconds: -1
    streams:
      accounts: { tierField: "Tier__c, (SELECT Id FROM Contacts)", pageSize: 50 }
      cases: { serialFiled: Serial__c, extraFields: [ "Description", "1bad" ] }
      leads: {}
`);
  for (const part of [
    'credentials.clientSecrets: unknown credential',
    'credentials.clientSecret: required for the password grant',
    'credentials.password: required for the password grant',
    'options.apiVersion',
    'options.loginUrl',
    'options.allowedInstanceUrls[0]',
    'options.instanceUrl: unknown option',
    'options.settleSeconds',
    'streams.leads: unknown stream',
    'streams.accounts.pageSize: must be an integer from 200 to 2000',
    'streams.accounts.tierField: must be a field API name',
    'streams.cases.serialFiled: unknown setting',
    'streams.cases.extraFields[1]',
  ]) {
    expect(err.message).toContain(part);
  }
  expect(err.message).not.toContain('secret-456');
});

it('a disabled stream is not offered; defaults fill the rest', () => {
  const c = create(`connectors:
  - name: crm
    type: salesforce
    baseUrl: https://acme.my.salesforce.test
    credentials: { clientId: { env: SF_CLIENT_ID }, clientSecret: { env: SF_CLIENT_SECRET } }
    streams:
      contacts: { enabled: false }
`);
  expect(Object.keys(c.streams)).toEqual(['accounts', 'cases']);
  expect(c.streams.cases.entity).toBe('complaint');
  expect(c.streams.accounts.entity).toBe('customer');
});
