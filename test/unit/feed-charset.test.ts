import { test } from "node:test";
import assert from "node:assert/strict";
import iconv from "iconv-lite";
import { charsetOf, decodeDocument, xmlDeclarationEncoding } from "../../src/sources/feed/charset.js";
import { redirectAllowed } from "../../src/sources/feed/http.js";

const xml = (encoding: string | undefined, body: string): string => `<?xml version="1.0"${encoding ? ` encoding="${encoding}"` : ""}?><rss><t>${body}</t></rss>`;

void test("decodeDocument: order HTTP charset, XML declaration, BOM, UTF-8", () => {
  const latin1 = (s: string): Buffer => iconv.encode(s, "latin1");
  const cases: { name: string; input: [Uint8Array, string | undefined]; expected: { text: RegExp; encoding: string; from: string; problem?: RegExp } }[] = [
    { name: "HTTP charset", input: [latin1(xml(undefined, "Malmö")), "text/xml; charset=ISO-8859-1"], expected: { text: /Malmö/, encoding: "windows-1252", from: "http" } },
    { name: "quoted HTTP charset", input: [latin1(xml(undefined, "Malmö")), 'text/xml; charset="latin1"'], expected: { text: /Malmö/, encoding: "windows-1252", from: "http" } },
    { name: "XML declaration", input: [latin1(xml("ISO-8859-1", "Malmö")), "application/rss+xml"], expected: { text: /Malmö/, encoding: "windows-1252", from: "xml" } },
    { name: "XML declaration, single quotes", input: [latin1(xml("ISO-8859-1", "Malmö").replace(/"ISO-8859-1"/, "'ISO-8859-1'")), undefined], expected: { text: /Malmö/, encoding: "windows-1252", from: "xml" } },
    { name: "BOM", input: [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml(undefined, "Malmö"))]), undefined], expected: { text: /^<\?xml.*Malmö/, encoding: "utf-8", from: "bom" } },
    { name: "UTF-8 by default", input: [Buffer.from(xml(undefined, "Malmö")), undefined], expected: { text: /Malmö/, encoding: "utf-8", from: "default" } },
    { name: "KOI8-R via iconv or TextDecoder", input: [iconv.encode(xml("KOI8-R", "Москва"), "koi8-r"), undefined], expected: { text: /Москва/, encoding: "koi8-r", from: "xml" } },
    { name: "unknown label", input: [Buffer.from(xml("X-NOPE", "a")), undefined], expected: { text: /a/, encoding: "utf-8", from: "default", problem: /XML charset "X-NOPE" is unknown: read as utf-8/ } },
    { name: "invalid bytes reported", input: [latin1(xml(undefined, "Malmö")), undefined], expected: { text: /Malm\uFFFD/, encoding: "utf-8", from: "default", problem: /1 byte sequence is not valid utf-8 \(the first at byte 33\)/ } },
  ];
  for (const { name, input, expected } of cases) {
    const d = decodeDocument(...input);
    assert.match(d.text, expected.text, name);
    assert.equal(d.encoding, expected.encoding, name);
    assert.equal(d.from, expected.from, name);
    if (expected.problem) assert.match(d.problem ?? "", expected.problem, name);
    else assert.equal(d.problem, undefined, name);
  }
  assert.equal(charsetOf("text/xml"), undefined);
  assert.equal(xmlDeclarationEncoding(Buffer.from("<rss/>")), undefined);
});

void test("redirectAllowed: same host, https upgrade, listed hosts; never a downgrade", () => {
  const u = (s: string): URL => new URL(s);
  const cases: { name: string; input: [string, string, string[]]; expected: boolean }[] = [
    { name: "same host, other path", input: ["https://noc.example.net/a", "https://noc.example.net/b", []], expected: true },
    { name: "https upgrade", input: ["http://noc.example.net/a", "https://noc.example.net/a", []], expected: true },
    { name: "downgrade", input: ["https://noc.example.net/a", "http://noc.example.net/a", []], expected: false },
    { name: "other host", input: ["https://noc.example.net/a", "https://evil.example.org/a", []], expected: false },
    { name: "localhost", input: ["https://noc.example.net/a", "http://localhost:8080/admin", []], expected: false },
    { name: "other port", input: ["https://noc.example.net/a", "https://noc.example.net:8443/a", []], expected: false },
    { name: "listed host", input: ["https://noc.example.net/a", "https://cdn.example.net/a", ["cdn.example.net"]], expected: true },
    { name: "listed wildcard", input: ["https://noc.example.net/a", "https://eu.cdn.example.net/a", ["*.cdn.example.net"]], expected: true },
    { name: "wildcard is not the bare domain's lookalike", input: ["https://noc.example.net/a", "https://evilcdn.example.net/a", ["*.cdn.example.net"]], expected: false },
    { name: "listed host with port", input: ["https://noc.example.net/a", "https://cdn.example.net:8443/a", ["cdn.example.net:8443"]], expected: true },
    { name: "listed host, wrong port", input: ["https://noc.example.net/a", "https://cdn.example.net:9999/a", ["cdn.example.net:8443"]], expected: false },
    { name: "other scheme", input: ["https://noc.example.net/a", "ftp://noc.example.net/a", []], expected: false },
  ];
  for (const { name, input, expected } of cases) assert.equal(redirectAllowed(u(input[0]), u(input[1]), input[2]), expected, name);
});
