/** The console's style sheet (served at `/console/app.css`). */
export const CONSOLE_CSS = `
  :root { color-scheme: light; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #fafbfc; }
  header { display: flex; align-items: center; gap: 24px; padding: 12px 24px; background: #1d2330; color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  header .who { margin-left: auto; font-size: 13px; opacity: 0.85; }
  main { padding: 16px 24px; }
  .banner { background: #fef0c7; color: #7a2e0e; border-bottom: 1px solid #fdb022; padding: 8px 24px; font-weight: 600; }
  [role="tablist"] { display: flex; gap: 4px; }
  [role="tab"] { background: transparent; color: #cfd4dc; border: 0; border-bottom: 3px solid transparent; padding: 6px 12px; font: inherit; cursor: pointer; }
  [role="tab"][aria-selected="true"] { color: #fff; border-bottom-color: #84adff; }
  [role="tab"]:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, tr:focus-visible { outline: 3px solid #84adff; outline-offset: 1px; }
  section.card { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
  section.card h2 { font-size: 15px; margin: 0 0 8px; }
  table.list { border-collapse: collapse; width: 100%; }
  table.list th, table.list td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; font-size: 13px; vertical-align: top; }
  table.list tbody tr.row { cursor: pointer; }
  table.list tbody tr.row:hover { background: #f2f4f7; }
  .empty { color: #667085; font-style: italic; }
  .status { font-weight: 600; }
  .status-succeeded { color: #067647; } .status-failed, .status-timed_out, .status-error, .status-denied { color: #b42318; }
  .status-awaiting_approval, .status-held, .status-skipped_paused, .status-gated { color: #b54708; }
  form.inline { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; }
  form.inline label { display: flex; flex-direction: column; font-size: 12px; color: #475467; gap: 2px; }
  input, select { font: inherit; padding: 4px 6px; border: 1px solid #cfd4dc; border-radius: 4px; }
  button { font: inherit; padding: 4px 10px; border-radius: 4px; border: 1px solid #98a2b3; background: #fff; cursor: pointer; }
  button.approve { border-color: #067647; color: #067647; } button.deny, button.lift { border-color: #b42318; color: #b42318; }
  .error { color: #b42318; }
  .progress { color: #b54708; }
  pre { background: #f2f4f7; padding: 8px; border-radius: 4px; overflow-x: auto; font-size: 12px; white-space: pre-wrap; }
  dl.detail { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
  dl.detail dt { color: #475467; } dl.detail dd { margin: 0; }
  .verdict { padding: 8px; border-left: 4px solid #84adff; background: #f5f8ff; margin: 6px 0; }
  .verdict.fired { border-left-color: #067647; background: #ecfdf3; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`
