/* Pinecrest insights page: figures and plotly charts from /webhooks/inbox/api/insights. */
(function () {
  "use strict";
  var API = "/webhooks/inbox/api/insights";
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function pct(rate) {
    if (!rate || rate.value === null || rate.value === undefined) return "–";
    return (100 * rate.value).toFixed(1) + "% (" + rate.numerator + "/" + rate.denominator + ")";
  }

  function minutes(v) { return v === null || v === undefined ? "–" : (v / 60).toFixed(1) + " min"; }

  function table(node, head, rows) {
    node.textContent = "";
    var tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    node.appendChild(tr);
    rows.forEach(function (row) {
      var r = el("tr");
      row.forEach(function (cell) {
        var td = el("td");
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell;
        r.appendChild(td);
      });
      node.appendChild(r);
    });
  }

  function options(select, values) {
    var current = select.value;
    while (select.options.length > 1) select.remove(1);
    values.forEach(function (v) { var o = el("option", v); o.value = v; select.appendChild(o); });
    select.value = values.indexOf(current) >= 0 ? current : "";
  }

  function render(data) {
    var r = data.report;
    var kpis = [
      ["Conversations", r.totals.conversations],
      ["Containment", pct(r.containment)],
      ["Verified resolution", pct(r.verified_resolution)],
      ["Fallback rate", pct(r.fallback.messages)],
      ["Answer-gate refusals", pct(r.knowledge_refusals.rate)],
      ["CSAT (4-5)", pct(r.csat.overall.csat)],
      ["Reopened tickets", pct(r.agents.overall.reopen_rate)]
    ];
    var box = $("kpis"); box.textContent = "";
    kpis.forEach(function (k) { var d = el("div", k[0], "kpi"); d.appendChild(el("b", k[1])); box.appendChild(d); });
    Object.keys(data.charts).forEach(function (name) {
      var target = $("chart-" + name);
      if (target) window.Plotly.react(target, data.charts[name].data, data.charts[name].layout, { displaylogo: false, responsive: true });
    });
    table($("friction"), ["outcome", "after step", "volume", "failures", "rate", "volume × rate", "examples"],
      r.friction.map(function (f) {
        var links = el("span");
        f.examples.forEach(function (ref) { var a = el("a", ref + " "); a.href = "#conv-" + ref; links.appendChild(a); });
        return [f.kind, f.step, f.volume, f.failures, f.rate === null ? "–" : (100 * f.rate).toFixed(1) + "%", f.score, links];
      }));
    var agents = [["all", r.agents.overall]].concat(r.agents.by_agent.map(function (a) { return [a.agent, a]; }));
    table($("agents"), ["agent", "time to claim (median)", "first reply (median)", "handle time (median)", "reopened"],
      agents.map(function (a) {
        var f = a[1];
        return [a[0], minutes((f.time_to_claim || {}).median), minutes((f.first_reply || {}).median),
                minutes((f.handle_time || {}).median), pct(f.reopen_rate)];
      }));
    var ex = $("examples"); ex.textContent = "";
    Object.keys(r.examples).forEach(function (ref) {
      var d = el("details"); d.id = "conv-" + ref; d.appendChild(el("summary", ref));
      r.examples[ref].forEach(function (t) { d.appendChild(el("div", t.role + ": " + t.text, "turn-" + t.role)); });
      ex.appendChild(d);
    });
    options($("f-channel"), r.choices.channels);
    options($("f-intent"), r.choices.intents);
  }

  var latest = 0;

  function load() {
    var ticket = ++latest;
    var params = new URLSearchParams();
    ["since", "until", "channel", "intent"].forEach(function (k) {
      var v = $("f-" + k).value; if (v) params.set(k, v);
    });
    $("insights-status").textContent = "Loading…";
    fetch(API + "?" + params.toString(), { credentials: "same-origin" }).then(function (resp) {
      return resp.json().then(function (data) {
        if (ticket !== latest) return;  // a newer request is on its way
        if (!resp.ok) throw new Error(data.error || ("HTTP " + resp.status));
        render(data);
        $("insights-status").textContent = "Updated.";
      });
    }).catch(function (e) {
      if (ticket === latest) $("insights-status").textContent = "Could not load: " + e.message;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var today = new Date();
    var from = new Date(today.getTime() - 29 * 86400000);
    $("f-until").value = today.toISOString().slice(0, 10);
    $("f-since").value = from.toISOString().slice(0, 10);
    $("insights-filters").addEventListener("submit", function (e) { e.preventDefault(); load(); });
    load();
  });
})();
