/**
 * Small helpers for text people read, shared by the commands and the domain code that
 * builds their reports (trace, replay), so neither imports the other.
 */

/** `1 record`, `2 records`. */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`
}

/**
 * An aligned text table: columns two spaces apart, each as wide as its widest cell, no
 * trailing spaces. `head` is the first line.
 */
export function formatTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  return [head, ...rows]
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/**
 * A ratio as a percentage with the precision it has: `0.9995` → `99.95%`, `0.99` →
 * `99%` (never `100%` for an objective short of it). `decimals` caps the digits after
 * the point (default 1, for measured figures); a value that would round to 100% or 0%
 * without being it gets as many more digits (up to 4) as it takes to show it is not.
 */
export function formatPercent(ratio: number, decimals = 1): string {
  // toFixed(6) drops binary noise (0.9995 * 100 is 99.94999999999999).
  const exact = Number((ratio * 100).toFixed(6))
  const round = (d: number): number => Number(exact.toFixed(d))
  let d = decimals
  while (d < 4 && ((round(d) === 100 && exact < 100) || (round(d) === 0 && exact !== 0))) d += 1
  return `${round(d)}%`
}

/** An SLO objective as a percentage, every digit it has: 0.9995 → 99.95%. */
export function formatObjective(objective: number): string {
  return formatPercent(objective, 4)
}
