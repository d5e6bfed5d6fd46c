import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { checkTemplate, evaluate, evaluateCondition, renderTemplate } from '../../../src/connectors/declarative/interpolation/interpolator.js'
import { parseIsoDuration, PyDateTime, strftime, strptime } from '../../../src/connectors/declarative/interpolation/py-datetime.js'
import { literalEval, pyStr } from '../../../src/connectors/declarative/interpolation/py-values.js'

const ctx = {
  config: { start: '20240101', ids: ['a', 'b'], n: '42', project: 'en', flag: true, empty: '' },
  response: { num: 5, has_more: false, items: [{ id: 1 }, { id: 2 }] },
  record: { split: 'train', email: 'ada@example.com', phone: null },
  next_page_token: null,
}

describe('Jinja evaluation with Python semantics', () => {
  const cases: Array<[string, unknown]> = [
    ["{{ config.start[:4] }}/{{ config.start[4:6] }}", '2024/01'],
    ["{{ '/top/' ~ config.project ~ '/' ~ config.start[:4] }}", '/top/en/2024'],
    ["{{ config['ids'] }}", ['a', 'b']],
    ["{{ config['n'] }}", 42],
    ["{{ config.flag }}", true],
    ["{{ not response.get('has_more', False) }}", true],
    ["{{ response['num'] + 1 or 0 }}/info.0.json", '6/info.0.json'],
    ["{{ not response.get('missing', {}) }}", true],
    ["{{ 'a::b::c'.split('::')[2] }}", 'c'],
    ["{{ '::'.join(['x', 'y']) }}", 'x::y'],
    ["{{ 'a-b-a'.replace('a', 'z') }}", 'z-b-z'],
    ["{{ '  pad  '.strip() }}", 'pad'],
    ["{{ config['missing'] }}", undefined],
    ["{{ config['missing'].split(',') }}", undefined],
    ["{{ 'x' if config.missing is none else 'y' }}", 'x'],
    ["{{ [] or 'empty' }}", 'empty'],
    ["{{ config.empty or 'dflt' }}", 'dflt'],
    ["{{ config.get('zzz', 'dflt') }}", 'dflt'],
    ["{{ response['items'] | map(attribute='id') | list }}", [1, 2]],
    ["{{ response['items'] | length }}", 2],
    ["{{ record['email'] | hash('md5') }}", '3e3417d7ef77d5932a6734b916515ed5'],
    ["{{ record['phone'] | hash('md5') }}", '6adf97f83acf6453d4a6a4b1070f3754'],
    ["{{ 'hello' | base64encode }}", 'aGVsbG8='],
    ["{{ 'id=123;x' | regex_search('id=(\\d+)') }}", 123],
    ["{{ format_datetime('2024-01-02T03:04:05Z', '%s') }}", 1704164645],
    ["{{ format_datetime('2024-01-02', '%d/%m/%Y') }}", '02/01/2024'],
    ["{{ timestamp('2024-01-01T00:00:00Z') }}", 1704067200],
    ["{{ str_to_datetime('2024-01-01') }}", '2024-01-01 00:00:00+00:00'],
    ["{{ max(1, 5, 3) }}", 5],
    ["{{ (str_to_datetime('2024-03-01') - duration('P1D')).strftime('%Y-%m-%d') }}", '2024-02-29'],
    ["{{ (str_to_datetime('2024-01-31') + duration('P1M')).strftime('%Y-%m-%d') }}", '2024-02-29'],
    ["{% if config.ids %}yes{% else %}no{% endif %}", 'yes'],
    ["{% if [] %}yes{% else %}no{% endif %}", 'no'],
    ["{% set x = config.project %}{{ x | upper }}", 'EN'],
    ["{{ next_page_token['next_page_token'] }}", undefined],
    ["{{ True }}|{{ None }}|{{ False }}", 'True|None|False'],
    ["{{ camel_case_to_snake_case('someFieldName') }}", 'some_field_name'],
    ["{{ config.missing | d('fallback') }}", 'fallback'],
  ]
  for (const [template, expected] of cases) {
    test(template, () => assert.deepEqual(evaluate(template, ctx), expected))
  }

  test('macros that read the clock', () => {
    assert.equal(evaluate("{{ now_utc().strftime('%Y-%m-%d') }}", ctx), new Date().toISOString().slice(0, 10))
    assert.equal(evaluate("{{ today_utc() }}", ctx, { literal: false }), new Date().toISOString().slice(0, 10))
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
    assert.equal(evaluate("{{ day_delta(-1, '%Y-%m-%d') }}", ctx), yesterday)
  })

  test('a default is used for empty renders and errors; strings without markers pass through', () => {
    assert.equal(evaluate("{{ config['missing'] }}", ctx, { default: 'd' }), 'd')
    assert.equal(evaluate('plain {not a template}', ctx), 'plain {not a template}')
    assert.equal(evaluate(17, ctx), 17)
  })

  test('conditions are false only for Python-falsy renders', () => {
    assert.equal(evaluateCondition("{{ record.split in ['train'] }}", ctx), true)
    assert.equal(evaluateCondition("{{ record.split == 'test' }}", ctx), false)
    assert.equal(evaluateCondition("{{ [] }}", ctx), false)
    assert.equal(evaluateCondition("{{ None }}", ctx), true)
    assert.equal(evaluateCondition("{{ config.missing }}", ctx), false)
  })

  test('syntax errors surface at load time', () => {
    assert.throws(() => checkTemplate('{{ config[ }}'))
    assert.doesNotThrow(() => checkTemplate("{{ config['a'] }}"))
  })
})

describe('Python Jinja syntax and truthiness (issue 14 C)', () => {
  test('chained conditionals are right-associative, as in Python', () => {
    const t = "{{ 'a' if x else 'b' if y else 'c' }}"
    assert.equal(renderTemplate(t, { x: 1, y: 1 }), 'a')
    assert.equal(renderTemplate(t, { x: 0, y: 1 }), 'b')
    assert.equal(renderTemplate(t, { x: 0, y: 0 }), 'c')
    assert.equal(renderTemplate("{{ 'a' if x else 'b' if y else 'c' if z else 'd' }}", { x: 0, y: 0, z: 0 }), 'd')
  })

  test('trailing commas in list and dict literals', () => {
    assert.deepEqual(evaluate('{{ [1, 2,] }}', {}), [1, 2])
    assert.deepEqual(evaluate("{{ {'a': 1, 'b': 2,} }}", {}), { a: 1, b: 2 })
    assert.equal(renderTemplate("{{ ['x', 'y',] | join('-') }}", {}), 'x-y')
    assert.throws(() => checkTemplate('{{ [1,, 2] }}'))
  })

  test('Python truthiness in if, not, and, or', () => {
    for (const v of [{}, [], '', 0, null]) {
      assert.equal(renderTemplate("{{ 'y' if v else 'n' }}", { v }), 'n', JSON.stringify(v))
      assert.equal(renderTemplate("{% if v %}y{% else %}n{% endif %}", { v }), 'n', JSON.stringify(v))
      assert.equal(renderTemplate('{{ not v }}', { v }), 'True', JSON.stringify(v))
      assert.equal(renderTemplate("{{ v or 'fallback' }}", { v }), 'fallback', JSON.stringify(v))
    }
    for (const v of [{ a: 1 }, [0], 'x', 1]) assert.equal(renderTemplate("{{ 'y' if v else 'n' }}", { v }), 'y', JSON.stringify(v))
    assert.equal(renderTemplate("{{ v and 'then' }}", { v: {} }), '{}')
  })

  test('macros render their text', () => {
    assert.equal(renderTemplate('{% macro wrap(v, p="<") %}{{ p }}{{ v }}>{% endmacro %}{{ wrap(1) }}{{ wrap("a", p="[") }}', {}), '<1>[a>')
  })
})

describe('sandbox: templates cannot reach the process, files or constructors', () => {
  const escapes = [
    '{{ constructor }}',
    "{{ ''.constructor }}",
    "{{ ''.constructor.constructor('return process')() }}",
    "{{ config.constructor.constructor('return process.env')() }}",
    "{{ [].constructor.constructor('return process')() }}",
    "{{ now_utc.constructor('return process')() }}",
    "{{ config.__proto__ }}",
    "{{ config['__proto__']['constructor'] }}",
    "{{ config.toString() }}",
    '{{ range(10) }}',
    '{{ process }}',
    "{{ require('fs') }}",
    '{{ global }}',
    '{{ globalThis }}',
    "{{ cycler('a') }}",
    "{{ (1).constructor }}",
    "{{ response.items.constructor }}",
    "{{ ({}).valueOf.call }}",
  ]
  for (const t of escapes) {
    test(t, () => {
      let out: string
      try {
        out = renderTemplate(t, ctx)
      } catch {
        return
      }
      assert.doesNotMatch(out, /function|process|\[object|Object|env|PATH/, `leaked: ${out}`)
    })
  }

  test('include/import/extends cannot read files', () => {
    for (const t of ["{% include '/etc/passwd' %}", "{% import '/etc/hostname' as x %}", "{% extends '/etc/passwd' %}"]) {
      assert.throws(() => renderTemplate(t, ctx), /template not found|Error/)
    }
  })

  test('a template mutating its context cannot change the caller\'s config', () => {
    const config = { a: 1 }
    renderTemplate("{% set config = {'a': 2} %}{{ config.a }}", { config })
    assert.equal(config.a, 1)
  })
})

describe('Python values and datetimes', () => {
  test('literal_eval typing', () => {
    assert.equal(literalEval('42'), 42)
    assert.equal(literalEval('-1.5'), -1.5)
    assert.equal(literalEval('True'), true)
    assert.equal(literalEval('None'), null)
    assert.deepEqual(literalEval("['a', 'b']"), ['a', 'b'])
    assert.deepEqual(literalEval("{'a': 1, 'b': [True, None]}"), { a: 1, b: [true, null] })
    assert.equal(literalEval('2024-01-01'), '2024-01-01')
    assert.equal(literalEval('0123'), '0123')
    assert.equal(literalEval('https://x/y'), 'https://x/y')
  })

  test('str() of values', () => {
    assert.equal(pyStr([1, 'a', null, true]), "[1, 'a', None, True]")
    assert.equal(pyStr({ k: "it's" }), `{'k': "it's"}`)
    assert.equal(pyStr(new PyDateTime(Date.UTC(2024, 0, 1, 12) * 1000 + 123456)), '2024-01-01 12:00:00.123456+00:00')
  })

  test('strftime/strptime incl. %s, %ms, %f, %z', () => {
    const dt = strptime('2024-03-05T10:20:30.123456+02:00', '%Y-%m-%dT%H:%M:%S.%f%z')
    assert.ok(dt)
    assert.equal(strftime(dt, '%s'), String(Date.UTC(2024, 2, 5, 8, 20, 30) / 1000))
    assert.equal(strftime(dt, '%Y-%m-%dT%H:%M:%S.%f%z'), '2024-03-05T10:20:30.123456+0200')
    assert.equal(strftime(strptime('1704067200000', '%ms') as PyDateTime, '%Y-%m-%d %H:%M'), '2024-01-01 00:00')
    assert.equal(strftime(strptime('2024010300', '%Y%m%d%H') as PyDateTime, '%Y%m%d'), '20240103')
    assert.equal(strptime('2024-01-01', '%Y-%m-%dT%H:%M:%SZ'), undefined)
    assert.equal(strftime(strptime('2024-01-01T00:00:00.5Z', '%Y-%m-%dT%H:%M:%S.%fZ') as PyDateTime, '%_ms'), '500')
  })

  test('ISO-8601 durations, including calendar months', () => {
    assert.equal(parseIsoDuration('P1D')?.us, 86_400_000_000)
    assert.equal(parseIsoDuration('PT1H30M')?.us, 5_400_000_000)
    assert.equal(parseIsoDuration('P1M')?.months, 1)
    assert.equal(parseIsoDuration('P1Y')?.months, 12)
    assert.equal(parseIsoDuration('P2W')?.us, 14 * 86_400_000_000)
    assert.equal(parseIsoDuration('nonsense'), undefined)
  })
})
