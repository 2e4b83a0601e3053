/**
 * The SLO box both pages draw (`/slo` and the console's SLOs tab), as one browser script
 * served from this process with uPlot (`/assets/…`, read from node_modules at start;
 * never a CDN). It defines `window.NightshiftSlo.render(slo)`, which returns a
 * `section.slo` for one row of `GET /api/slo`: the facts, the window's burn-down, the
 * last 24 hours on a scale fitted to them, the burn rates per window with the 14.4×,
 * 6× and 1× thresholds, and the recent remediations.
 *
 * The numbers drawn are kept in data attributes (`data-remaining`, `data-points`,
 * `data-rates`) so a browser test can check a chart shows what the API says. Figures are
 * printed as the API formats them (`objectiveText`: 0.9995 is 99.95%, never 100%).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'

const UPLOT_DIST = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist')

/** The burn rate windows in the order drawn, and the thresholds of the multi-window alert. */
const SLO_CHARTS_JS = `(() => {
  const WINDOWS = ['5m', '30m', '1h', '6h', '1d', '3d']
  const THRESHOLDS = [[14.4, '#b42318', '14.4× (page, 1h & 5m)'], [6, '#b54708', '6× (page, 6h & 30m)'], [1, '#566074', '1× (budget lasts the window)']]
  const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = value; if (cls) e.className = cls; return e }
  const chartWidth = () => Math.max(280, Math.min(560, Math.floor((window.innerWidth - 120) / 2)))

  function burnDown(charts, cls, title, points, range) {
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
      width: chartWidth(), height: 220,
      scales: { y: { range } },
      series: [{}, { label: 'budget left %', stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.08)' }],
      axes: [{}, { size: 64, values: (u, v) => v.map((x) => x + '%') }],
    }, [xs, ys], chart)
  }

  // Bars per window; the thresholds as lines across. An asinh scale keeps 0.2× and 40× both readable.
  function burnRates(charts, rates) {
    const wrap = document.createElement('div')
    wrap.append(text('h3', 'burn rate per window'))
    const chart = document.createElement('div')
    chart.className = 'chart-burn'
    chart.dataset.rates = JSON.stringify(WINDOWS.map((w) => [w, rates[w]]))
    chart.setAttribute('role', 'img')
    chart.setAttribute('aria-label', 'burn rates: ' + WINDOWS.map((w) => w + ' ' + (Math.round(rates[w] * 100) / 100) + '×').join(', '))
    wrap.append(chart)
    charts.append(wrap)
    const xs = WINDOWS.map((_, i) => i)
    const series = [{}, { label: 'burn', fill: 'rgba(37,99,235,0.5)', stroke: '#2563eb', paths: uPlot.paths.bars({ size: [0.6, 48] }), points: { show: false } }]
    const data = [xs, WINDOWS.map((w) => Math.round(rates[w] * 100) / 100)]
    for (const [value, colour, label] of THRESHOLDS) {
      series.push({ label, stroke: colour, width: 1.5, dash: [6, 4], points: { show: false } })
      data.push(xs.map(() => value))
    }
    const max = Math.max(16, ...data[1])
    new uPlot({
      width: chartWidth(), height: 220,
      scales: { x: { time: false, range: [-0.5, WINDOWS.length - 0.5] }, y: { distr: 4, range: [0, max * 1.1] } },
      legend: { show: false },
      series,
      axes: [{ splits: () => xs, values: (u, v) => v.map((i) => WINDOWS[i] || '') }, { size: 56, splits: () => [0, 1, 6, 14.4].concat(max > 20 ? [Math.round(max)] : []), values: (u, v) => v.map((x) => (x === null ? '' : x + '×')) }],
    }, data, chart)
  }

  function render(slo) {
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
    return { box, draw: () => {
      burnDown(charts, 'chart', 'SLO window', slo.burnDown, (u, min, max) => [Math.min(0, min), 100])
      // Fitted to the day's figures: a 3% drop fills the chart instead of a pixel of it.
      burnDown(charts, 'chart-recent', 'last 24 hours', slo.recentBurnDown, (u, min, max) => {
        const pad = Math.max(0.5, (max - min) * 0.15)
        return [min - pad, Math.min(100, max + pad)]
      })
      burnRates(charts, slo.burnRates)
      const table = document.createElement('table')
      table.className = 'remediations'
      const head = document.createElement('tr')
      for (const h of ['when', 'action', 'status', 'alert']) head.append(text('th', h))
      table.append(head)
      for (const rem of slo.recentRemediations) {
        const row = document.createElement('tr')
        for (const v of [rem.at, rem.action, rem.status, rem.fingerprint]) row.append(text('td', v))
        table.append(row)
      }
      if (slo.recentRemediations.length === 0) box.append(text('div', 'no remediations recorded', 'facts'))
      else box.append(table)
    } }
  }

  /** Renders every SLO into root (after the boxes are in the page: uPlot measures them). */
  function renderAll(root, slos) {
    root.replaceChildren()
    for (const slo of slos) {
      const { box, draw } = render(slo)
      root.append(box)
      draw()
    }
  }

  window.NightshiftSlo = { render, renderAll }
})()
`

/** The style of an SLO box, for both pages. */
export const SLO_CHARTS_CSS = `
  .slo { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 16px; margin-bottom: 20px; }
  .slo h2 { font-size: 16px; margin: 0 0 4px; }
  .facts { color: #566074; margin-bottom: 8px; }
  .charts { display: flex; flex-wrap: wrap; gap: 16px; } .charts h3 { font-size: 13px; font-weight: 600; margin: 0 0 4px; color: #566074; }
  .state-page { color: #b42318; font-weight: 600; } .state-ticket { color: #b54708; font-weight: 600; } .state-ok { color: #067647; }
  table.remediations { border-collapse: collapse; margin-top: 8px; } table.remediations td, table.remediations th { padding: 2px 10px 2px 0; text-align: left; font-size: 13px; }
  .stale { color: #b54708; margin-bottom: 8px; }
`

const ASSETS: Record<string, { body: () => Buffer; type: string }> = {
  'uplot.js': {
    body: () => fs.readFileSync(path.join(UPLOT_DIST, 'uPlot.iife.min.js')),
    type: 'application/javascript; charset=utf-8',
  },
  'uplot.css': { body: () => fs.readFileSync(path.join(UPLOT_DIST, 'uPlot.min.css')), type: 'text/css; charset=utf-8' },
  'slo-charts.js': { body: () => Buffer.from(SLO_CHARTS_JS, 'utf8'), type: 'application/javascript; charset=utf-8' },
}

/** Registers `/assets/:name` (uPlot and the SLO box) unless the server has it already. */
export function registerChartAssets(server: FastifyInstance): void {
  if (server.hasRoute({ method: 'GET', url: '/assets/:name' })) return
  const assets = new Map(Object.entries(ASSETS).map(([name, a]) => [name, { body: a.body(), type: a.type }]))
  server.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name)
    if (!asset) return reply.code(404).send({ error: `no asset ${request.params.name}` })
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body)
  })
}
