import { formatTable } from '../../src/text'

describe('formatTable', () => {
  it.each([
    ['head only', ['A', 'BB'], [], 'A  BB'],
    ['a cell wider than its head', ['A', 'B'], [['xyz', '1']], 'A    B\nxyz  1'],
    ['no trailing spaces on a short last cell', ['NAME', 'STATE'], [['kafka', '']], 'NAME   STATE\nkafka'],
    ['a missing cell counts as empty', ['A', 'B', 'C'], [['1', '2']], 'A  B  C\n1  2'],
  ])('%s', (_name, head, rows, expected) => {
    expect(formatTable(head, rows)).toBe(expected)
  })
})
