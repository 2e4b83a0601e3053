/**
 * `GET /slo`: one page with each SLO's error-budget burn-down chart and its recent
 * remediations, drawn from `GET /api/slo`. The charting library (uPlot) is served from
 * this process (`/assets/…`, read from node_modules at start), never from a CDN: the page
 * works on a network with no way out.
 *
 * The page puts the numbers it draws in data attributes (`data-remaining`,
 * `data-points`) so a browser test can check the chart shows what the API says. Figures
 * are printed as the API formats them (`objectiveText`: 0.9995 is 99.95%, never 100%),
 * so the page, `slo report` and the API agree. Beside the SLO window's chart, a second
 * one shows the last 24 hours on a scale fitted to them, where a drop of a few percent
 * of the budget is visible.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'

const UPLOT_DIST = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist')

const ASSETS: Record<string, { file: string; type: string }> = {
  'uplot.js': { file: path.join(UPLOT_DIST, 'uPlot.iife.min.js'), type: 'application/javascript; charset=utf-8' },
  'uplot.css': { file: path.join(UPLOT_DIST, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Nightshift — SLO error budgets</title>
<link rel="stylesheet" href="/assets/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 16px; }
  .slo { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 16px; margin-bottom: 20px; }
  .slo h2 { font-size: 16px; margin: 0 0 4px; }
  .facts { color: #566074; margin-bottom: 8px; }
  .charts { display: flex; flex-wrap: wrap; gap: 16px; } .charts h3 { font-size: 13px; font-weight: 600; margin: 0 0 4px; color: #566074; }
  .state-page { color: #b42318; font-weight: 600; } .state-ticket { color: #b54708; font-weight: 600; } .state-ok { color: #067647; }
  table { border-collapse: collapse; margin-top: 8px; } td, th { padding: 2px 10px 2px 0; text-align: left; font-size: 13px; }
  #error { color: #b42318; }
  .stale { color: #b54708; margin-bottom: 8px; }
</style>
</head>
<body>
<h1>SLO error budgets</h1>
<div id="error"></div>
<div id="slos"></div>
<script src="/assets/uplot.js"></script>
<script>
(async () => {
  const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = value; if (cls) e.className = cls; return e }
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
  const root = document.getElementById('slos')
  for (const slo of data.slos) {
    const box = document.createElement('section')
    box.className = 'slo'
    box.dataset.slo = slo.slo
    box.dataset.remaining = String(slo.budgetRemaining)
    box.dataset.badMinutes = String(slo.badMinutes)
    box.append(text('h2', slo.slo + ' — ' + slo.service + ' (' + slo.team + ')'))
    const facts = text('div', 'objective ' + slo.objectiveText + ' · budget left ' + slo.budgetRemainingText + ' · ' + slo.badMinutes + ' of ' + slo.allowedBadMinutes + ' bad minutes · burn 1h ' + (Math.round(slo.burnRates['1h'] * 100) / 100) + '× · ', 'facts')
    facts.append(text('span', slo.state, 'state-' + slo.state))
    box.append(facts)
    // Episodes open with no notification for longer than the staleness (docs/episodes.md): likely a lost resolve.
    box.dataset.stale = String(slo.staleEpisodes || 0)
    if (slo.staleEpisodes > 0) box.append(text('div', slo.staleEpisodes + (slo.staleEpisodes === 1 ? ' episode is' : ' episodes are') + ' stale (no notification for longer than the staleness; close with nightshift episodes close): ' + slo.staleBadMinutes + ' of the bad minutes were charged after they went stale', 'stale'))
    const r = slo.remediations
    const runs = 'runs ' + r.runs + ' (' + r.succeeded + ' ok, ' + r.failed + ' failed, ' + r.timedOut + ' timed out)'
    const apart = ' · not run: ' + r.dryRuns + ' dry runs, ' + r.cancelled + ' cancelled (resolved first), ' + r.notRun + ' other · not held: ' + r.notEffective
    box.append(text('div', runs + apart, 'facts remediation-counts'))
    const charts = document.createElement('div')
    charts.className = 'charts'
    box.append(charts)
    root.append(box)
    const width = Math.min(560, Math.floor((window.innerWidth - 120) / 2))
    const draw = (cls, title, points, range) => {
      const wrap = document.createElement('div')
      wrap.append(text('h3', title))
      const chart = document.createElement('div')
      chart.className = cls
      chart.dataset.points = JSON.stringify(points.map((p) => [p.at, p.remaining]))
      wrap.append(chart)
      charts.append(wrap)
      const xs = points.map((p) => Date.parse(p.at) / 1000)
      const ys = points.map((p) => Math.round(p.remaining * 10000) / 100)
      new uPlot({
        width, height: 220,
        scales: { y: { range } },
        series: [{}, { label: 'budget left %', stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.08)' }],
        axes: [{}, { size: 64, values: (u, v) => v.map((x) => x + '%') }],
      }, [xs, ys], chart)
    }
    draw('chart', 'SLO window', slo.burnDown, (u, min, max) => [Math.min(0, min), 100])
    // Fitted to the day's figures: a 3% drop fills the chart instead of a pixel of it.
    draw('chart-recent', 'last 24 hours', slo.recentBurnDown, (u, min, max) => {
      const pad = Math.max(0.5, (max - min) * 0.15)
      return [min - pad, Math.min(100, max + pad)]
    })
    const table = document.createElement('table')
    table.className = 'remediations'
    const head = document.createElement('tr')
    for (const h of ['when', 'action', 'status', 'alert']) head.append(text('th', h))
    table.append(head)
    for (const r of slo.recentRemediations) {
      const row = document.createElement('tr')
      for (const v of [r.at, r.action, r.status, r.fingerprint]) row.append(text('td', v))
      table.append(row)
    }
    if (slo.recentRemediations.length === 0) box.append(text('div', 'no remediations recorded', 'facts'))
    else box.append(table)
  }
  document.body.dataset.ready = 'true'
})()
</script>
</body>
</html>
`

/** Registers `/slo` and its assets on the server. */
export function registerSloPage(server: FastifyInstance): void {
  const assets = new Map(
    Object.entries(ASSETS).map(([name, a]) => [name, { body: fs.readFileSync(a.file), type: a.type }]),
  )
  server.get('/slo', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  server.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name)
    if (!asset) return reply.code(404).send({ error: `no asset ${request.params.name}` })
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body)
  })
}
