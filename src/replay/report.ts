/**
 * What `nightshift replay` prints: a summary of fates before → after and the alerts
 * whose fate changed, as text or JSON. Pure.
 */
import { plural } from '../text'
import { displayName } from '../config/yaml-file'
import { FATE_LABELS, type AlertFate, type ReplayDiff } from './diff'
import type { ReplayWindow } from './window'

/** The outcome of one replay. */
export interface ReplayReport {
  /** Prefix of the run replayed (empty in production). */
  prefix: string
  /** The topic read: `<prefix>alerts.raw`. */
  topic: string
  window: ReplayWindow
  /** The folder of the files the replay ran with. */
  configDir: string
  /** Records of the window sent again (0: nothing to replay, no replay ran). */
  replayed: number
  /** Records of the window that do not decode as an Alert: not replayed (the original dead-lettered them too). */
  undecodable: number
  /** The replay's topic prefix; absent when nothing was replayed. */
  replayPrefix?: string
  /** True when the replay topics were kept (--keep). */
  kept: boolean
  /** What could not be cleaned up, one sentence each. */
  cleanupProblems: string[]
  /** Absent when nothing was replayed. */
  diff?: ReplayDiff
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function changeLine(c: AlertFate): string {
  return `  ${c.fingerprint} ${c.alertname} ${c.service}: ${c.before.text} → ${c.after.text}  (${c.status}, startsAt ${c.startsAt}${c.notifications > 1 ? `, ${c.notifications} notifications` : ''})${c.beganBeforeWindow ? ' *' : ''}`
}

/** `nightshift tail` / `trace` commands that read a kept replay. */
function keptHint(replayPrefix: string): string {
  return `replay topics kept under prefix ${replayPrefix}: read them with \`nightshift tail --prefix ${replayPrefix} alerts.throttled --from-beginning\` or \`nightshift trace <fingerprint> --prefix ${replayPrefix}\`; delete them with your Kafka tools when done`
}

/**
 * The text `nightshift replay` prints. `limit` caps the list of changed alerts (0: no cap).
 */
export function formatReplayReport(report: ReplayReport, limit: number): string {
  const window = `from ${iso(report.window.from)} to ${iso(report.window.to)}`
  const skipped =
    report.undecodable > 0
      ? [`(${plural(report.undecodable, 'record')} of the window did not decode as an Alert and were not replayed)`]
      : []
  const { diff } = report
  if (!diff || report.replayed === 0)
    return [`no records on ${report.topic} ${window}: nothing to replay`, ...skipped].join('\n')

  const lines = [
    `replayed ${plural(diff.notifications, 'notification')} (${plural(diff.alerts, 'alert')}) of ${report.topic} ${window} through ${displayName(report.configDir)}; dry run: no action ran`,
    ...skipped,
    '',
  ]
  const rows = diff.summary.filter((r) => r.before > 0 || r.after > 0)
  const width = Math.max(4, ...rows.map((r) => FATE_LABELS[r.kind].length))
  const numWidth = Math.max(6, ...rows.map((r) => String(r.before).length))
  lines.push(`${'fate'.padEnd(width)}  ${'before'.padStart(numWidth)} → after`)
  for (const r of rows)
    lines.push(
      `${FATE_LABELS[r.kind].padEnd(width)}  ${String(r.before).padStart(numWidth)} → ${r.after}${r.before === r.after ? '' : ` (${r.after > r.before ? '+' : ''}${r.after - r.before})`}`,
    )
  lines.push('')

  if (diff.changed.length === 0) {
    lines.push(`no alert changed fate (${plural(diff.alerts, 'alert')} compared)`)
  } else {
    const shown = limit > 0 ? diff.changed.slice(0, limit) : diff.changed
    lines.push(
      `${diff.changed.length} of ${plural(diff.alerts, 'alert')} changed fate (fingerprint alertname service: before → after):`,
    )
    for (const c of shown) lines.push(changeLine(c))
    if (shown.length < diff.changed.length)
      lines.push(`  … and ${diff.changed.length - shown.length} more (--limit 0 lists all)`)
    if (shown.some((c) => c.beganBeforeWindow)) {
      lines.push(
        "  * the episode began before --from: the original run's dedup and rate limits knew its earlier notifications, the replay's started empty",
      )
    }
  }
  lines.push('')
  if (report.replayPrefix)
    lines.push(
      report.kept ? keptHint(report.replayPrefix) : `replay topics under prefix ${report.replayPrefix} deleted`,
    )
  for (const p of report.cleanupProblems) lines.push(`warning: ${p}`)
  return lines.join('\n')
}

/** What `nightshift replay --json` prints: the report with the changed list capped at `limit` (0: no cap). */
export function replayReportJson(report: ReplayReport, limit: number): object {
  const changed = report.diff?.changed ?? []
  const shown = limit > 0 ? changed.slice(0, limit) : changed
  return {
    prefix: report.prefix,
    topic: report.topic,
    from: iso(report.window.from),
    to: iso(report.window.to),
    configDir: report.configDir,
    replayed: report.replayed,
    undecodable: report.undecodable,
    replayPrefix: report.replayPrefix ?? null,
    kept: report.kept,
    cleanupProblems: report.cleanupProblems,
    notifications: report.diff?.notifications ?? 0,
    alerts: report.diff?.alerts ?? 0,
    unchanged: report.diff?.unchanged ?? 0,
    summary: report.diff?.summary ?? [],
    changedTotal: changed.length,
    changed: shown,
  }
}
