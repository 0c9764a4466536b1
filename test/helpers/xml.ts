/** An element from XML text, read by the client library's own stream parser (for stanza tests). */
import { Parser, type Element } from "@xmpp/xml";

export function parseElement(text: string): Element {
  const parser = new Parser();
  let found: Element | undefined;
  parser.on("element", (el: Element) => (found ??= el));
  parser.write(`<wrap>${text}</wrap>`);
  if (!found) throw new Error(`no element in ${text}`);
  // Read as a stanza of its own, as the connection hands it over.
  found.parent = null;
  return found;
}
