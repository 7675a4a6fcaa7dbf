import { fakeClock, parseConnectorsConfig } from '../../src/connectors';
import { sandboxConnectorsYaml } from '../../src/demo/sandboxes';
import { loadSyncSetup } from '../../src/sync/instances';
import { SalesforceSandbox, startSalesforceSandbox } from '../../connectors/salesforce/sandbox/server';
import { KingdeeSandbox, startKingdeeSandbox } from '../../connectors/kingdee/sandbox/server';
import { startThingsBoardSandbox, ThingsBoardSandbox } from '../../connectors/thingsboard/sandbox/server';

export interface WritebackSandboxes {
  crm: SalesforceSandbox;
  erp: KingdeeSandbox;
  iot: ThingsBoardSandbox;
  configYaml: string;
  close(): Promise<void>;
}

/** The three sandboxes with their controls, and the connector config pointing at them. */
export async function startWritebackSandboxes(): Promise<WritebackSandboxes> {
  const crm = await startSalesforceSandbox();
  const erp = await startKingdeeSandbox();
  const iot = await startThingsBoardSandbox();
  const configYaml = sandboxConnectorsYaml({ crm: crm.url, erp: erp.url, iot: iot.url }, crm.control.credentials);
  return { crm, erp, iot, configYaml, close: async () => void (await Promise.all([crm.close(), erp.close(), iot.close()])) };
}

/** Connector instances for the sandboxes (real clock: the write-back path is what is tested). */
export function sandboxInstances(configYaml: string, clock = false) {
  return loadSyncSetup(undefined, { config: parseConnectorsConfig(configYaml), ...(clock ? { clock: fakeClock() } : {}), logger: () => undefined }).instances;
}
