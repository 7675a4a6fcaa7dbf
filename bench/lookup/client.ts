import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { LookupAnswer } from './baseline';

/**
 * The operation under test, read at run time: next to this file when run from source, or from
 * bench/lookup/ when run from dist/bench/lookup/ (tsc does not copy .graphql files).
 */
export function loadOperation(): string {
  const candidates = [path.join(__dirname, 'lookup.graphql'), path.resolve(__dirname, '../../../bench/lookup/lookup.graphql')];
  for (const file of candidates) if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  throw new Error(`lookup.graphql not found (looked in ${candidates.join(', ')})`);
}

/** A minimal GraphQL client: Node's http with a keep-alive agent, nothing else in the way. */
export class GraphqlClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(url: string, private readonly apiKey: string, maxSockets: number) {
    this.url = new URL(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          hostname: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname + this.url.search,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${this.apiKey}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One lookup through the gateway; throws on HTTP or GraphQL errors. */
export async function hubLookup(client: GraphqlClient, query: string, identifier: string): Promise<LookupAnswer & { bytes: number }> {
  const { status, text } = await client.post(JSON.stringify({ operationName: 'Lookup', query, variables: { identifier } }));
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${status}: not JSON: ${text.slice(0, 300)}`);
  }
  if (status !== 200 || body.errors?.length) {
    throw new Error(`HTTP ${status}: ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  }
  const lookup = body.data?.lookup;
  if (!lookup) throw new Error(`no data.lookup in ${text.slice(0, 300)}`);
  return { matchedBy: lookup.matchedBy ?? null, reason: lookup.reason ?? null, customer: lookup.customer ?? null, bytes: text.length };
}
