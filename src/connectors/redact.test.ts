import { redact, REDACTED, redactUrl } from './redact';
import { Secret } from './secret';
import { inspect } from 'util';

describe('redact', () => {
  it('hides Authorization and any header named like a secret, keeps the rest', () => {
    const headers = {
      Authorization: 'Bearer abc',
      'Proxy-Authorization': 'Basic xyz',
      'X-Api-Key': 'k1',
      Cookie: 'kdservice-sessionid=s1',
      'X-Authorization': 'Bearer tb-jwt',
      'Content-Type': 'application/json',
      Accept: 'application/json',
    };
    expect(redact(headers)).toEqual({
      Authorization: REDACTED,
      'Proxy-Authorization': REDACTED,
      'X-Api-Key': REDACTED,
      Cookie: REDACTED,
      'X-Authorization': REDACTED,
      'Content-Type': 'application/json',
      Accept: 'application/json',
    });
  });

  it('hides nested body fields by name and leaves the input untouched', () => {
    const body = {
      username: 'ops',
      password: 'p',
      client_secret: 's',
      refresh_token: 't',
      auth: { sessionId: 'sid', SIGNATURE: 'sig', appKey: 'k' },
      rows: [{ name: 'Acme', passCode: '1' }],
      count: 3,
    };
    const copy = JSON.parse(JSON.stringify(body));
    expect(redact(body)).toEqual({
      username: 'ops',
      password: REDACTED,
      client_secret: REDACTED,
      refresh_token: REDACTED,
      auth: { sessionId: REDACTED, SIGNATURE: REDACTED, appKey: REDACTED },
      rows: [{ name: 'Acme', passCode: REDACTED }],
      count: 3,
    });
    expect(body).toEqual(copy);
  });

  it('redacts JSON and form-encoded string bodies, leaves other strings alone', () => {
    expect(JSON.parse(redact('{"user":"a","password":"p"}'))).toEqual({ user: 'a', password: REDACTED });
    expect(redact('grant_type=password&username=a&password=p&client_secret=s')).toBe(
      `grant_type=password&username=a&password=${REDACTED}&client_secret=${REDACTED}`,
    );
    expect(redact('SELECT Id FROM Account')).toBe('SELECT Id FROM Account');
  });

  it('redacts query parameters and userinfo in URLs', () => {
    expect(redactUrl('/api/x?access_token=t&page=2&sig=s&Signature=z')).toBe(`/api/x?access_token=${REDACTED}&page=2&sig=s&Signature=${REDACTED}`);
    expect(redactUrl('https://user:pw@host.test/a?apiKey=1')).toBe(`https://${REDACTED}@host.test/a?apiKey=${REDACTED}`);
    expect(redactUrl('/plain/path')).toBe('/plain/path');
  });

  it('hides Secret values wherever they are, and survives cycles', () => {
    const o: Record<string, unknown> = { clientId: new Secret('id-1'), note: 'x' };
    o.self = o;
    expect(redact(o)).toEqual({ clientId: REDACTED, note: 'x', self: '[Circular]' });
  });
});

describe('Secret', () => {
  it('only gives its value through reveal()', () => {
    const s = new Secret('hunter2');
    expect(s.reveal()).toBe('hunter2');
    expect(`${s}`).toBe(REDACTED);
    expect(JSON.stringify({ s })).toBe(`{"s":"${REDACTED}"}`);
    expect(inspect({ s })).not.toContain('hunter2');
  });
});
