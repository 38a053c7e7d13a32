/// The dashboard's only style sheet and script, served from `/ui/static/` (nothing is fetched
/// from elsewhere; the Content-Security-Policy allows nothing else).
enum DashboardAssets {
    static let css = """
        :root { --fg: #1c2330; --muted: #5b6678; --line: #d8dde6; --bg: #f6f7f9; --card: #fff; --accent: #1d5fd1;
                --ok: #1b7f3b; --warn: #a86200; --bad: #b3261e; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45; }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #14213d; }
        header a, header button { color: #fff; }
        .brand { font-weight: 700; text-decoration: none; font-size: 1.1rem; }
        nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
        nav a { text-decoration: none; padding: .2rem 0; }
        nav a[aria-current="page"] { border-bottom: 2px solid #fff; }
        .sign-out { margin-left: auto; }
        .sign-out button { background: transparent; border: 1px solid #fff; border-radius: 4px; padding: .2rem .7rem; cursor: pointer; }
        main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
        h1 { font-size: 1.5rem; margin: .3rem 0 1rem; }
        h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .75rem; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; }
        .card .figure { font-size: 1.6rem; font-weight: 650; }
        .card .label { color: var(--muted); font-size: .85rem; }
        .cards + .table-wrap, .cards + .pager { margin-top: .75rem; }
        .table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        caption { text-align: left; padding: .5rem .75rem; color: var(--muted); }
        th, td { text-align: left; padding: .4rem .75rem; border-top: 1px solid var(--line); white-space: nowrap; }
        th { background: #eef1f5; font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .status-online, .state-completed, .state-ok, .local-up { color: var(--ok); font-weight: 600; }
        .status-stale, .status-pending, .state-paused, .state-soft { color: var(--warn); font-weight: 600; }
        .status-offline, .status-revoked, .state-aborted, .state-exhausted, .local-down, .error { color: var(--bad); font-weight: 600; }
        form.filters, form.inline { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: .5rem 0 1rem; }
        form.inline { display: inline-flex; margin: 0; }
        label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
        input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        button.danger { background: var(--bad); border-color: var(--bad); }
        button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f2b705; outline-offset: 2px; }
        .pager { display: flex; gap: 1rem; margin: .75rem 0; align-items: center; }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: .75rem; }
        figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5rem; }
        figcaption { font-weight: 600; font-size: .9rem; margin-bottom: .25rem; }
        svg.chart { width: 100%; height: auto; display: block; }
        meter { width: 6rem; }
        .muted { color: var(--muted); }
        .sign-in { max-width: 24rem; margin: 4rem auto; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1.5rem; }
        .sign-in form { display: flex; flex-direction: column; gap: .75rem; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; }
        @media (max-width: 600px) { main { padding: .5rem; } th, td { padding: .35rem .5rem; } .sign-out { margin-left: 0; } }
        """

    /// Live updates: a page that carries `data-stream` subscribes to `/ui/stream` (server-sent
    /// events) and writes each value it receives into the elements marked `data-live="key"`.
    /// Without JavaScript the page is complete as served; it only stops updating itself.
    static let script = """
        "use strict";
        (function () {
          var root = document.querySelector("[data-stream]");
          if (!root || !window.EventSource) { return; }
          var source = new EventSource(root.getAttribute("data-stream"));
          source.addEventListener("update", function (event) {
            var values;
            try { values = JSON.parse(event.data); } catch (e) { return; }
            Object.keys(values).forEach(function (key) {
              document.querySelectorAll('[data-live="' + key + '"]').forEach(function (element) {
                element.textContent = values[key];
              });
            });
            var stamp = document.getElementById("live-stamp");
            if (stamp) { stamp.textContent = "live, updated " + new Date().toLocaleTimeString(); }
          });
        })();
        """
}
