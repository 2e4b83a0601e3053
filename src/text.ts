/**
 * Small helpers for text people read, shared by the commands and the domain code that
 * builds their reports (trace, replay), so neither imports the other.
 */

/** `1 record`, `2 records`. */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`
}
