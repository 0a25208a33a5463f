import fc from 'fast-check';
import { BODY_LIMIT } from './client.ts';

// Route-independent arbitraries of the fuzz: tokens, odd strings, encodings, bodies, headers.

const PREFIXES = ['gha_', 'ghr_', 'ghk_', 'ghs_', 'ghcs_', 'ghac_'];
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');

/**
 * Valid-looking but random Gatehouse tokens: of a minted token's length (mint time and random
 * part), of the older length (random part only), or any. Only ever sent where nothing is logged
 * (Authorization, token bodies).
 */
export const randomToken = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(fc.constantFrom(...B64URL), { minLength: 0, maxLength: 60 }), fc.constantFrom(undefined, 54, 43))
  .map(([p, cs, length]) => p + (length ? cs.concat(Array(length).fill('A')).slice(0, length) : cs).join(''));

/** Strings that are not token-shaped (so no Gatehouse log ever mistakes them for a leaked token). */
export const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '', ' ', '\u0000', 'a\u0000b', '\u202Eevil\u202C', '\u200F\u05D0\u05D1', '😀', '👩‍👩‍👧‍👦', '\uD800', '\uDC00x', 'x\uDBFF',
      '\uFEFF', '\uFFFF', '\r\n', '%', '%00', '%zz', '..', '../..', '/', '//', '\\', '"', "'", '<script>', '{}', '[]', 'null', 'true',
      '-1', '0', '1e999', 'NaN', '9007199254740993', 'ａｄｍｉｎ', 'İ', 'ß', 'S256', 'plain', 'code', 'token', 'active', 'revoked',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 9000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((n) => '\u00e9\u{1F600}'.repeat(n)) },
);

/** Percent-encodes any string; a lone surrogate (which encodeURIComponent refuses) goes out as its raw (invalid) UTF-8. */
export function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...s]
      .map((ch) => {
        const code = ch.charCodeAt(0);
        if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
          return `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
        }
        return encodeURIComponent(ch);
      })
      .join('');
  }
}

export const BAD_ESCAPES = ['%', '%2', '%zz', '%C3%28', '%ED%A0%80', '%C0%AF', '%FF%FE', '%E2%82', '%00', '%25%', '%u0041', '+%2B+'];

/** How a value goes out in a URL or form: encoded, raw, or with broken escapes. */
export const encodingMode = fc.constantFrom('enc', 'enc', 'enc', 'raw', 'bad') as fc.Arbitrary<'enc' | 'raw' | 'bad'>;

export function encodeAs(mode: 'enc' | 'raw' | 'bad', value: string, bad: string): string {
  if (mode === 'enc') return enc(value);
  // node:http refuses characters outside \x21-\xFF in a path; raw mode keeps what it allows
  if (mode === 'raw') return [...value].filter((c) => c.charCodeAt(0) > 0x20 && c.charCodeAt(0) <= 0xff && c !== '#').join('');
  return enc(value) + bad;
}

/** Arbitrary bytes, including invalid UTF-8 and a truncated body. */
export const rawBytes = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
  fc.constantFrom(
    Buffer.from([0xc3, 0x28]),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xff, 0xfe, 0x00]),
    Buffer.from([0xc0, 0xaf]),
    Buffer.from('grant_type=client_credentials&scope=\xff\xfe', 'latin1'),
    Buffer.from('{"provider":"\xff"}', 'latin1'),
  ),
);

/** Over the 256 KiB limit; rare, they are slow to send. */
export const oversized = fc.constantFrom(BODY_LIMIT + 1, BODY_LIMIT + 4096, 2 * BODY_LIMIT).map((n) => Buffer.alloc(n, 'a'));

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/x-www-form-urlencoded;;;',
  'application/vnd.api+json',
  'application/merge-patch+json',
  'text/plain',
  'text/html',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  'application/',
  ';',
  '',
  'x'.repeat(4000),
];

/** A header value node:http lets out: \t and \x20-\xFF, latin1. */
const headerValue = oddString.map((s) => [...s].filter((c) => c === '\t' || (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0xff && c.charCodeAt(0) !== 0x7f)).join('').trim());
const headerName = fc.oneof(
  fc.constantFrom('x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host', 'cookie', 'accept', 'accept-encoding', 'origin', 'referer', 'x-api-key', 'transfer-encoding', 'expect', 'te', 'x-request-id', 'accept-charset', 'content-encoding'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);
export const extraHeaders = fc.array(fc.tuple(headerName, fc.oneof(headerValue, fc.constantFrom('gzip', 'chunked', '100-continue', 'deflate, br', '*/*', '127.0.0.1, ::1', 'gh_authz=x', `gh_authz=${'x'.repeat(2000)}`, 'x'.repeat(6000)))), { maxLength: 4 });
