/**
 * Example of a custom action: a team writes `defineAction({ name, run })` in a module of
 * this folder (topology/actions.yaml `customActionsDir`), lists the name in
 * topology/topics.yaml /actions/names, and routes alerts to it in routes.yaml.
 *
 * This one writes a short Markdown note of the alert into the artifacts folder, for the
 * person who picks the incident up in the morning. Like a built-in handler it does one
 * attempt and reports; the worker owns retries, timeouts, idempotency and pauses.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { defineAction, type HandlerResult } from '../../src/actions/handlers'

/** Only characters that are safe in a file name; label values are not trusted. */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || '_'
}

export default defineAction({
  name: 'incident-note',
  describe: (request) => `write notes/${safe(request.alert.alert.fingerprint)}.md for ${request.alert.alert.labels.alertname ?? 'the alert'}`,
  async run(request, context): Promise<HandlerResult> {
    const { alert } = request.alert
    const file = path.join('notes', `${safe(alert.fingerprint)}.md`)
    const lines = [
      `# ${alert.labels.alertname ?? 'alert'} (${alert.status})`,
      '',
      `- service: ${request.alert.service ?? 'unknown'}, team: ${request.alert.team}`,
      `- started: ${alert.startsAt}`,
      `- runbook: ${request.alert.runbookUrl ?? 'none'}`,
      ...Object.entries(request.params).map(([k, v]) => `- ${k}: ${v}`),
      '',
    ]
    try {
      await fs.mkdir(path.join(context.artifactsDir, 'notes'), { recursive: true })
      await fs.appendFile(path.join(context.artifactsDir, file), lines.join('\n'))
      return { ok: true, retriable: false, detail: `note written to ${file}`, output: { file }, artifact: file }
    } catch (err) {
      return { ok: false, retriable: true, detail: `could not write ${file}: ${err instanceof Error ? err.message : String(err)}`, output: {} }
    }
  },
})
