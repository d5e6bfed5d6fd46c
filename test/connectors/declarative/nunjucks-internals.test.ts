import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import nunjucks from 'nunjucks'
import { renderTemplate } from '../../../src/connectors/declarative/interpolation/interpolator.js'

// The interpolator replaces private parts of nunjucks (runtime lookups, the string lexer, parser
// and compiler methods) to sandbox templates and give them Python semantics. nunjucks is pinned to
// an exact version; these tests fail when the installed copy is not the one those patches were
// written and reviewed against, so an upgrade is a deliberate change (see docs/declarative.md).

const require = createRequire(import.meta.url)
const root = dirname(require.resolve('nunjucks/package.json'))

test('nunjucks is the pinned version, byte for byte in the files the sandbox patches', () => {
  assert.equal((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version, '3.2.4')
  const expected: Record<string, string> = {
    'parser.js': '24d7ac80e14e9e5a2fa74274841f1f248135d5163ed5d69c13c5371eb3d6f9f2',
    'compiler.js': '25ce854e15eddd5899a8e47b5a7a8abd0afcd22087ff0bef53a5eed28fa9a3d8',
    'runtime.js': 'ca59e151395c1f5fc25145ebe2ff39a33e37448bdd2a7eca00a4fc328b924890',
    'lexer.js': '910b70f77e9cbf42da3ed8ff46f0fa588dc67fd3b6a9ba12851dd539c6ed5cba',
    'jinja-compat.js': 'eb9f518edef0f7c838f8579db3cee4d0c8231c537378657363b32c81d79c447a',
    'nodes.js': 'b6168de066223b22ed7736c2394a1b77e193f7d755ee92798b50873764a18d26',
  }
  for (const [file, sha] of Object.entries(expected)) {
    assert.equal(createHash('sha256').update(readFileSync(join(root, 'src', file))).digest('hex'), sha, file)
  }
})

test('the internals the interpolator replaces or calls exist with the expected shapes', () => {
  const n = nunjucks as unknown as Record<string, Record<string, unknown>>
  const runtime = n.runtime as Record<string, unknown>
  for (const f of ['memberLookup', 'contextOrFrameLookup', 'suppressValue', 'SafeString']) assert.equal(typeof runtime[f], 'function', `runtime.${f}`)
  const parser = (n.parser as { Parser: { prototype: Record<string, unknown> } }).Parser.prototype
  for (const f of ['parseInlineIf', 'parseAggregate', 'parseOr', 'parseExpression', 'parsePrimary', 'skipSymbol', 'skip', 'nextToken', 'peekToken', 'fail']) assert.equal(typeof parser[f], 'function', `Parser.${f}`)
  const compiler = (n.compiler as { Compiler: { prototype: Record<string, unknown> } }).Compiler.prototype
  for (const f of ['compileIf', 'compileInlineIf', 'compileNot', 'compileOr', 'compileAnd', 'compileAdd', 'compileSub', 'compileConcat', 'compile', '_emit']) assert.equal(typeof compiler[f], 'function', `Compiler.${f}`)
  for (const node of ['InlineIf', 'Not', 'Array', 'Dict', 'Group', 'Pair']) assert.equal(typeof n.nodes![node], 'function', `nodes.${node}`)
  for (const t of ['TOKEN_LEFT_PAREN', 'TOKEN_RIGHT_PAREN', 'TOKEN_LEFT_BRACKET', 'TOKEN_RIGHT_BRACKET', 'TOKEN_LEFT_CURLY', 'TOKEN_RIGHT_CURLY', 'TOKEN_COMMA', 'TOKEN_COLON']) assert.equal(typeof n.lexer![t], 'string', `lexer.${t}`)
  const tokenizer = Object.getPrototypeOf((n.lexer as { lex(s: string): object }).lex('')) as Record<string, unknown>
  for (const f of ['_parseString', 'forward', 'current', 'isFinished']) assert.equal(typeof tokenizer[f], 'function', `Tokenizer.${f}`)
})

test('after the first render the sandboxed lookups are the installed ones', () => {
  assert.equal(renderTemplate("{{ ''.constructor }}", {}), '')
  const runtime = (nunjucks as unknown as { runtime: { memberLookup: { name: string } } }).runtime
  assert.equal(runtime.memberLookup.name, 'safeMemberLookup')
})
