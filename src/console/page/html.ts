import { SLO_CHARTS_CSS } from '../../http/slo-charts'
import { CSRF_HEADER } from '../types'

/** The text of the banner an open console (no credentials) shows. */
export const OPEN_BANNER = 'no credentials configured: this console is reachable from this machine only'

/**
 * The console's page at `/`: the frame of the four tabs; app.js fills them from
 * `/api/console/…`. uPlot and the SLO box come from `/assets/` (src/http/slo-charts.ts),
 * as on `/slo`.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nightshift console</title>
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/console/app.css">
<style>${SLO_CHARTS_CSS}</style>
</head>
<body data-csrf-header="${CSRF_HEADER}" data-open-banner="${OPEN_BANNER}">
<div id="banner" class="banner" role="status" hidden></div>
<header>
  <h1>Nightshift</h1>
  <nav role="tablist" aria-label="Console views">
    <button role="tab" id="tab-now" aria-controls="panel-now" aria-selected="true" data-tab="now">Now</button>
    <button role="tab" id="tab-actions" aria-controls="panel-actions" aria-selected="false" tabindex="-1" data-tab="actions">Actions</button>
    <button role="tab" id="tab-alert" aria-controls="panel-alert" aria-selected="false" tabindex="-1" data-tab="alert">Alert</button>
    <button role="tab" id="tab-slos" aria-controls="panel-slos" aria-selected="false" tabindex="-1" data-tab="slos">SLOs</button>
  </nav>
  <span class="who" id="who"></span>
</header>
<div id="live" class="sr-only" aria-live="polite"></div>
<main>
  <div id="error" class="error" role="alert"></div>
  <div role="tabpanel" id="panel-now" aria-labelledby="tab-now" data-panel="now"></div>
  <div role="tabpanel" id="panel-actions" aria-labelledby="tab-actions" data-panel="actions" hidden></div>
  <div role="tabpanel" id="panel-alert" aria-labelledby="tab-alert" data-panel="alert" hidden></div>
  <div role="tabpanel" id="panel-slos" aria-labelledby="tab-slos" data-panel="slos" hidden></div>
</main>
<script src="/assets/uplot.js"></script>
<script src="/assets/slo-charts.js"></script>
<script src="/console/app.js"></script>
</body>
</html>
`
