/**
 * A small, safe XML reader for SOAP bodies: saxes (a strict, non-validating, namespace-aware
 * parser) builds an element tree. Safe by construction: a DOCTYPE is refused outright (so no
 * entity definitions, no external entities, no "billion laughs"), saxes itself knows only the
 * five predefined entities and character references, and depth and element count are capped.
 */
import { SaxesParser } from 'saxes';
import { ErrorCode } from '../errors/codes';
import { webhookError } from './errors';

export interface XmlElement {
  /** Namespace URI ('' when none). */
  ns: string;
  local: string;
  /** Attributes by `{uri}local` (or `local` without a namespace). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside the element. */
  text: string;
}

export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const MAX_DEPTH = 32;
const MAX_ELEMENTS = 50_000;

/** The document's root element; WEBHOOK_MALFORMED with line and column when the XML is not well-formed or not allowed. */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let count = 0;
  const fail = (why: string): never => {
    throw webhookError(ErrorCode.WEBHOOK_MALFORMED, `The XML body is not accepted at line ${parser.line}, column ${parser.column}: ${why}`);
  };
  parser.on('error', (e) => fail(e.message.replace(/^\d+:\d+: /, '')));
  parser.on('doctype', () => fail('a DOCTYPE is not allowed (entities are never expanded)'));
  parser.on('processinginstruction', (pi) => fail(`processing instruction <?${pi.target}?> is not allowed`));
  parser.on('opentag', (tag) => {
    if (++count > MAX_ELEMENTS) fail(`more than ${MAX_ELEMENTS} elements`);
    if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      if (a.uri === 'http://www.w3.org/2000/xmlns/') continue;
      attrs[a.uri ? `{${a.uri}}${a.local}` : a.local] = a.value;
    }
    const el: XmlElement = { ns: tag.uri ?? '', local: tag.local ?? tag.name, attrs, children: [], text: '' };
    if (stack.length) stack[stack.length - 1].children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('text', (t) => { if (stack.length) stack[stack.length - 1].text += t; });
  parser.on('cdata', (t) => { if (stack.length) stack[stack.length - 1].text += t; });
  parser.on('closetag', () => { stack.pop(); });
  parser.write(text).close();
  if (!root) fail('no root element');
  return root!;
}

/** Direct children named `local` (in namespace `ns` when given). */
export function childrenNamed(el: XmlElement, local: string, ns?: string): XmlElement[] {
  return el.children.filter((c) => c.local === local && (ns === undefined || c.ns === ns));
}

export function childNamed(el: XmlElement, local: string, ns?: string): XmlElement | undefined {
  return childrenNamed(el, local, ns)[0];
}

/** The resolved value of a QName attribute such as `xsi:type="sf:Account"`: its local part. */
export function localPart(qname: string): string {
  const i = qname.indexOf(':');
  return i >= 0 ? qname.slice(i + 1) : qname;
}

/** Escapes text for an XML element or attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
