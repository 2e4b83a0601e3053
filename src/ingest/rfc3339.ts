/**
 * RFC 3339 `date-time` (section 5.6): full-date "T" full-time, with an optional
 * fraction of 1–9 digits (Go's RFC3339Nano, which Alertmanager passes through) and "Z"
 * or a numeric offset. "T" and "Z" may be lowercase (RFC 3339 5.6, note). A leap
 * second (":60") is refused: Go's time.Parse refuses it too, and so would every
 * consumer of the string downstream.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/** True when `value` is an RFC 3339 date-time with in-range fields. */
export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value)
  if (!m) return false
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false
  if (hour > 23 || minute > 59 || second > 59) return false
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false
  return true
}
