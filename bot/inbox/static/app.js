/* Pinecrest agent inbox: a small single-page app over /webhooks/inbox/api. */
(function () {
  "use strict";
  var API = "/webhooks/inbox/api";
  var state = { me: null, csrf: "", current: null, ticket: null, events: null, suggestion: null, markTurn: null };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = state.csrf;
      init.body = JSON.stringify(body || {});
    }
    return fetch(API + path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.status === 401 && path !== "/login") showLogin();
        if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
        return data;
      });
    });
  }

  function say(text) { $("status").textContent = text; }

  function showLogin() {
    state.me = null;
    if (state.events) { state.events.close(); state.events = null; }
    $("app-view").hidden = true; $("whoami").hidden = true; $("login-view").hidden = false;
  }

  function showApp(me) {
    state.me = me; state.csrf = me.csrf;
    $("login-view").hidden = true; $("app-view").hidden = false; $("whoami").hidden = false;
    $("user-name").textContent = me.user + " (" + me.role + ")";
    $("insights-link").hidden = me.role !== "admin";
    var intents = $("correct-intent"); intents.textContent = "";
    (me.intents || []).forEach(function (i) { var o = el("option", i); o.value = i; intents.appendChild(o); });
    api("GET", "/agents").then(function (data) {
      var sel = $("transfer-to"); sel.textContent = "";
      data.agents.filter(function (a) { return a !== me.user; }).forEach(function (a) {
        var o = el("option", a); o.value = a; sel.appendChild(o);
      });
    });
    listen();
  }

  function listen() {
    if (state.events) state.events.close();
    var source = new EventSource(API + "/events");
    state.events = source;
    source.addEventListener("queue", function (e) {
      $("live").textContent = "Live";
      renderQueue(JSON.parse(e.data).tickets);
      if (state.current) loadTicket(state.current, true);
    });
    source.onerror = function () { $("live").textContent = "Reconnecting…"; };
  }

  function renderQueue(tickets) {
    var list = $("ticket-list"); list.textContent = "";
    if (!tickets.length) { list.appendChild(el("li", "No tickets waiting.", "muted")); }
    tickets.forEach(function (t) {
      var li = el("li"); var b = el("button");
      b.type = "button"; b.dataset.ticket = t.id;
      b.setAttribute("aria-current", String(t.id === state.current));
      b.appendChild(el("strong", t.channel + " · " + t.customer_id));
      b.appendChild(el("span", t.status === "claimed" ? "claimed by " + t.assigned_agent : "waiting", "badge"));
      b.appendChild(el("span", "P" + t.priority, "badge"));
      b.appendChild(el("div", t.summary || t.trigger, "muted"));
      b.setAttribute("aria-label", "Ticket from " + t.customer_id + " on " + t.channel + ", " + t.status);
      b.addEventListener("click", function () { loadTicket(t.id, false); });
      li.appendChild(b); list.appendChild(li);
    });
  }

  function detail(dl, name, value) {
    dl.appendChild(el("dt", name)); dl.appendChild(el("dd", value === null || value === undefined || value === "" ? "—" : value));
  }

  function loadTicket(id, quiet) {
    return api("GET", "/tickets/" + encodeURIComponent(id)).then(function (t) {
      var changed = state.current !== id;
      state.current = id; state.ticket = t;
      $("conversation").hidden = false;
      var dl = $("details"); dl.textContent = "";
      detail(dl, "Channel", t.channel); detail(dl, "Customer", t.customer_id);
      detail(dl, "Trigger", t.trigger); detail(dl, "Priority", t.priority);
      detail(dl, "Sentiment", t.sentiment === null ? null : Number(t.sentiment).toFixed(2));
      detail(dl, "Summary", t.summary); detail(dl, "Intents", t.intents.join(", "));
      detail(dl, "Status", t.status + (t.assigned_agent ? " (" + t.assigned_agent + ")" : ""));
      var mine = t.status === "claimed" && t.assigned_agent === state.me.user;
      $("claim").hidden = mine; $("resolve").disabled = !mine;
      $("transfer").disabled = !mine || !$("transfer-to").options.length;
      $("reply-form").querySelector("button").disabled = !mine;
      renderTranscript(t, mine);
      if (changed || !$("suggestions").children.length) loadSuggestions(id);
    }).catch(function (e) { if (!quiet) say(e.message); });
  }

  function renderTranscript(t, mine) {
    var ol = $("transcript"); ol.textContent = "";
    t.transcript.forEach(function (turn, i) {
      var li = el("li", null, "turn-" + turn.role);
      li.appendChild(el("span", turn.role === "customer" ? "Customer" : "Bot", "who"));
      li.appendChild(el("span", turn.text));
      if (turn.role === "bot" && (mine || state.me.role === "admin")) {
        var b = el("button", "Mark wrong", "mark"); b.type = "button";
        b.setAttribute("aria-label", "Mark bot turn " + (i + 1) + " wrong");
        b.addEventListener("click", function () { state.markTurn = i; $("correct-box").hidden = false; $("correct-intent").focus(); });
        li.appendChild(b);
      }
      ol.appendChild(li);
    });
    t.messages.forEach(function (m) {
      var li = el("li", null, "turn-" + m.author);
      li.appendChild(el("span", m.author === "agent" ? "Agent " + (m.agent || "") + (m.delivered ? " · delivered" : " · sending") : "Customer", "who"));
      li.appendChild(el("span", m.text));
      ol.appendChild(li);
    });
  }

  function loadSuggestions(id) {
    var ul = $("suggestions"); ul.textContent = "";
    api("GET", "/tickets/" + encodeURIComponent(id) + "/suggestions").then(function (data) {
      ul.textContent = "";
      data.suggestions.forEach(function (s, i) {
        var li = el("li"); var b = el("button", s); b.type = "button";
        b.setAttribute("aria-label", "Use suggestion " + (i + 1) + ": " + s);
        b.addEventListener("click", function () {
          state.suggestion = s; var box = $("reply-text"); box.value = s; box.focus();
        });
        li.appendChild(b);
        var sources = (data.sources && data.sources[i]) || [];
        sources.forEach(function (src) {
          var p = el("p"); p.className = "source";
          p.appendChild(document.createTextNode("Source: "));
          var label = src.section ? src.title + " > " + src.section : src.title;
          if (/^https?:\/\//i.test(src.source)) {
            var a = el("a", label); a.href = src.source; a.target = "_blank"; a.rel = "noopener noreferrer";
            p.appendChild(a);
          } else {
            p.appendChild(document.createTextNode(label + " (" + src.source + ")"));
          }
          li.appendChild(p);
        });
        ul.appendChild(li);
      });
    }).catch(function (e) { say(e.message); });
  }

  function act(path, body, done) {
    if (!state.current) return;
    api("POST", "/tickets/" + encodeURIComponent(state.current) + path, body).then(function (data) {
      say(done); return data;
    }).then(function () { return loadTicket(state.current, true); }).catch(function (e) { say(e.message); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", function (e) {
      e.preventDefault(); $("login-error").textContent = "";
      api("POST", "/login", { username: $("login-user").value, password: $("login-password").value })
        .then(function (me) { $("login-password").value = ""; return api("GET", "/me"); })
        .then(showApp)
        .catch(function (err) { $("login-error").textContent = err.message; });
    });
    $("logout").addEventListener("click", function () { api("POST", "/logout").finally(showLogin); });
    $("claim").addEventListener("click", function () { act("/claim", {}, "Claimed."); });
    $("resolve").addEventListener("click", function () { act("/resolve", {}, "Resolved; the bot has the conversation again."); });
    $("transfer").addEventListener("click", function () { act("/transfer", { to: $("transfer-to").value }, "Transferred."); });
    $("correct-cancel").addEventListener("click", function () { $("correct-box").hidden = true; });
    $("correct-save").addEventListener("click", function () {
      act("/correct", { turn: state.markTurn, intent: $("correct-intent").value }, "Correction saved.");
      $("correct-box").hidden = true;
    });
    $("reply-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var text = $("reply-text").value.trim(); if (!text) return;
      var body = { text: text }; if (state.suggestion) body.suggestion = state.suggestion;
      act("/reply", body, "Reply sent.");
      $("reply-text").value = ""; state.suggestion = null;
    });
    api("GET", "/me").then(showApp).catch(showLogin);
  });
})();
