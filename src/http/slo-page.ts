/**
 * `GET /slo`: one page with each SLO's error-budget burn-down chart and its recent
 * remediations, drawn from `GET /api/slo`. The charting library (uPlot) is served from
 * this process (`/assets/…`, read from node_modules at start), never from a CDN: the page
 * works on a network with no way out.
 *
 * Each SLO's box is drawn by the script the console's SLOs tab uses too (slo-charts.ts):
 * the numbers it draws are in data attributes for browser tests, figures are printed as
 * the API formats them, and beside the SLO window's chart a second one shows the last 24
 * hours on a scale fitted to them, where a drop of a few percent of the budget shows.
 */
import type { FastifyInstance } from 'fastify'
import { SLO_CHARTS_CSS, registerChartAssets } from './slo-charts'

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Nightshift — SLO error budgets</title>
<link rel="stylesheet" href="/assets/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 16px; }
${SLO_CHARTS_CSS}
  #error { color: #b42318; }
</style>
</head>
<body>
<h1>SLO error budgets</h1>
<div id="error"></div>
<div id="slos"></div>
<script src="/assets/uplot.js"></script>
<script src="/assets/slo-charts.js"></script>
<script>
(async () => {
  let data
  try {
    const res = await fetch('/api/slo')
    data = await res.json()
    if (!res.ok) throw new Error(data.error || res.status)
  } catch (err) {
    document.getElementById('error').textContent = 'Could not load /api/slo: ' + err.message
    document.body.dataset.ready = 'error'
    return
  }
  NightshiftSlo.renderAll(document.getElementById('slos'), data.slos)
  document.body.dataset.ready = 'true'
})()
</script>
</body>
</html>
`

/** Registers `/slo` and its assets on the server. */
export function registerSloPage(server: FastifyInstance): void {
  server.get('/slo', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  registerChartAssets(server)
}
