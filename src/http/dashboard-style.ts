/** The dashboard's stylesheet (served at /assets/dashboard.css). */
export const DASHBOARD_CSS = `
:root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #57606a; --line: #d0d7de; font-family: system-ui, sans-serif; }
[hidden] { display: none !important; }
body { margin: 0; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; background: #24292f; color: #fff; }
header h1 { font-size: 1.2rem; margin: 0; }
#summary { flex: 1; color: #d0d7de; }
main { padding: 1rem; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); font-size: .9rem; }
#records tbody tr { cursor: pointer; }
#records tbody tr:hover, #records tbody tr.selected { background: #ddf4ff; }
code, .mono { font-family: ui-monospace, monospace; }
.age-ok { color: var(--ok); }
.age-warn { color: var(--warn); font-weight: 600; }
.age-over { color: var(--bad); font-weight: 700; }
.outcome-succeeded { color: var(--ok); }
.outcome-failed, .outcome-script-failed { color: var(--bad); font-weight: 600; }
.outcome-held { color: var(--warn); font-weight: 600; }
.outcome-skipped, .muted { color: var(--muted); }
.error { color: var(--bad); }
button { cursor: pointer; }
button.danger { background: var(--bad); color: #fff; border: 0; padding: .3rem .7rem; border-radius: 4px; }
#chart-box { margin: 0 0 1rem; background: #fff; padding: .5rem; border: 1px solid var(--line); }
#chart svg { width: 100%; max-width: 640px; height: 160px; }
#chart .bar { fill: #0969da; }
#chart .bar.over { fill: var(--bad); }
#chart text { font-size: 10px; fill: var(--muted); }
dialog menu { display: flex; gap: .5rem; justify-content: flex-end; padding: 0; }
#login { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
`;
