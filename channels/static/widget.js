/* Pinecrest web chat widget. Vanilla JS, no dependencies.
 *
 * Embed with one tag:
 *   <script src="https://bot.example/webhooks/web/widget.js" data-socket-path="/socket.io" defer></script>
 * Options (data- attributes): socket-url (default: the script's origin), socket-path
 * (default /socket.io), title, open ("true" starts open), initial-payload (sent once when a
 * new session starts, e.g. "/greet"), storage-key, max-length (input limit, default 2000; keep
 * it at the server's max_message_chars), css (stylesheet URL; default: widget.css next to the
 * script).
 *
 * Speaks Engine.IO v4 / Socket.IO v5 over a plain WebSocket: open packet "0{...}", ping "2"
 * answered by pong "3", namespace connect "40", events "42[name, data]".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.PinecrestChat) return;
  var opt = script.dataset;
  var src = new URL(script.src, location.href);
  var base = new URL(opt.socketUrl || src.origin, location.href);
  var socketPath = "/" + (opt.socketPath || "/socket.io").replace(/^\/+|\/+$/g, "") + "/";
  var storageKey = opt.storageKey || "pinecrest-webchat";
  var MAX_HISTORY = 200;

  /* ---------- state kept across reloads ---------- */
  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey)) || {}; } catch (e) { return {}; }
  }
  var saved = load();
  var state = { sessionId: saved.sessionId || null, history: saved.history || [], open: !!saved.open };
  function save() {
    state.history = state.history.slice(-MAX_HISTORY);
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* full or blocked */ }
  }

  /* ---------- DOM helpers ---------- */
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function decode(s) {
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'").replace(/&amp;/g, "&");
  }
  function safeUrl(url, schemes) {
    try {
      var u = new URL(url, location.href);
      return schemes.indexOf(u.protocol) >= 0 ? u.href : null;
    } catch (e) { return null; }
  }
  function link(url, parent) {
    var a = el("a");
    a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
    parent.appendChild(a);
    return a;
  }
  var LINK_SCHEMES = ["http:", "https:", "mailto:", "tel:"];
  function isWord(c) { return !!c && /[\w]/.test(c); }
  function closing(s, delim, from) {
    for (var j = from; j < s.length; j++) {
      if (s[j] === "\\") { j++; continue; }
      if (s.substr(j, delim.length) === delim && !isWord(s[j + delim.length])) return j;
    }
    return -1;
  }

  /* Light Markdown (as bot.nlg.render.render_markdown writes it) into DOM nodes: **bold**,
   * _italic_ or *italic*, [label](url), bare URLs, "- " bullets, paragraphs. Text only ever
   * becomes text nodes; links keep only safe schemes. */
  function inline(s, parent) {
    var buf = "", i = 0, m, end;
    function flush() { if (buf) parent.appendChild(document.createTextNode(decode(buf))); buf = ""; }
    while (i < s.length) {
      var c = s[i], rest = s.slice(i);
      if (c === "\\" && i + 1 < s.length) { buf += s[i + 1]; i += 2; continue; }
      if (rest.indexOf("**") === 0 && (end = closing(s, "**", i + 2)) > i + 2) {
        flush(); inline(s.slice(i + 2, end), parent.appendChild(el("strong"))); i = end + 2; continue;
      }
      if ((c === "_" || c === "*") && !isWord(s[i - 1]) && s[i + 1] !== " " &&
          (end = closing(s, c, i + 1)) > i + 1) {
        flush(); inline(s.slice(i + 1, end), parent.appendChild(el("em"))); i = end + 1; continue;
      }
      if (c === "[" && (m = /^\[((?:\\.|[^\]\\])+)\]\(([^)\s]+)\)/.exec(rest))) {
        var url = safeUrl(decode(m[2]), LINK_SCHEMES);
        flush(); inline(m[1], url ? link(url, parent) : parent); i += m[0].length; continue;
      }
      if (!isWord(s[i - 1]) && (m = /^https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]']/.exec(rest))) {
        var href = safeUrl(decode(m[0]), ["http:", "https:"]);
        if (href) { flush(); link(href, parent).textContent = decode(m[0]); i += m[0].length; continue; }
      }
      buf += c; i++;
    }
    flush();
  }
  function markdown(text, parent) {
    text.split(/\n{2,}/).forEach(function (block) {
      var lines = block.split("\n");
      if (lines.every(function (l) { return /^\s*- /.test(l); })) {
        var ul = parent.appendChild(el("ul"));
        lines.forEach(function (l) { inline(l.replace(/^\s*- /, ""), ul.appendChild(el("li"))); });
        return;
      }
      var p = parent.appendChild(el("p"));
      lines.forEach(function (l, n) { if (n) p.appendChild(el("br")); inline(l, p); });
    });
  }

  /* ---------- the widget ---------- */
  var root = el("div", "pcw");
  var launcher = el("button", "pcw-launcher", "Chat");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "Open chat with Pinecrest support");
  launcher.setAttribute("aria-controls", "pcw-panel");
  var panel = el("section", "pcw-panel");
  panel.id = "pcw-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", opt.title || "Pinecrest support chat");
  var header = el("header", "pcw-header");
  header.appendChild(el("h2", "pcw-title", opt.title || "Pinecrest support"));
  var closeBtn = el("button", "pcw-close", "\u00d7");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "Close chat");
  header.appendChild(closeBtn);
  var conn = el("p", "pcw-conn");
  conn.setAttribute("role", "status");
  var log = el("div", "pcw-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;
  var typing = el("div", "pcw-typing", "The assistant is typing\u2026");
  typing.hidden = true;
  var form = el("form", "pcw-form");
  var input = el("input", "pcw-input");
  input.type = "text";
  input.autocomplete = "off";
  input.placeholder = "Type your message";
  input.maxLength = parseInt(opt.maxLength, 10) || 2000;
  input.setAttribute("aria-label", "Type your message");
  var sendBtn = el("button", "pcw-send", "Send");
  sendBtn.type = "submit";
  form.appendChild(input); form.appendChild(sendBtn);
  [header, conn, log, typing, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel); root.appendChild(launcher);

  function setOpen(open, focus) {
    state.open = open; save();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open && focus) input.focus();
    if (!open && focus) launcher.focus();
    if (open) log.scrollTop = log.scrollHeight;
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closeBtn.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false, true); }
  });

  var typingTimer = null;
  function showTyping(on) {
    typing.hidden = !on;
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(function () { typing.hidden = true; }, 20000);
  }

  function handoffText(h) {
    if (h.state === "waiting") {
      return "Waiting for an agent" + (h.position != null ? " (position " + h.position + ")" : "");
    }
    if (h.state === "agent") return (h.agent_name || "An agent") + " has joined the conversation";
    if (h.state === "bot") return "You're back with the bot";
    return null;
  }

  /* One transcript entry: {from: user|bot|agent|status, text, name, choices, quick, image}. */
  function render(entry, index) {
    var item = el("div", "pcw-msg pcw-" + entry.from);
    if (entry.from === "agent") item.appendChild(el("span", "pcw-author", entry.name || "Agent"));
    if (entry.from === "status" || entry.from === "user") item.appendChild(el("p", null, entry.text));
    else if (entry.text) markdown(entry.text, item);
    if (entry.image) {
      var url = safeUrl(entry.image, ["http:", "https:"]);
      if (url) { var img = item.appendChild(el("img", "pcw-image")); img.src = url; img.alt = entry.alt || "Image from support"; }
    }
    if (entry.choices && entry.choices.length) {
      var group = item.appendChild(el("div", entry.quick ? "pcw-quick" : "pcw-buttons"));
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested replies");
      entry.choices.forEach(function (choice) {
        var b = group.appendChild(el("button", "pcw-choice", choice.title));
        b.type = "button";
        b.addEventListener("click", function () {
          if (entry.quick) { entry.choices = []; group.remove(); save(); }
          send(choice.payload, choice.title);
        });
      });
    }
    item.dataset.index = String(index);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }
  function add(entry) {
    state.history.push(entry); save();
    render(entry, state.history.length - 1);
  }

  function onBotUttered(m) {
    showTyping(false);
    if (!m || typeof m !== "object") return;
    if (m.custom && m.custom.handoff) {
      var text = handoffText(m.custom.handoff);
      if (text) add({ from: "status", text: text, handoff: m.custom.handoff.state });
      return;
    }
    var entry = { from: m.author === "agent" ? "agent" : "bot", text: m.text || "" };
    if (m.agent_name) entry.name = m.agent_name;
    var choices = m.quick_replies || m.buttons;
    if (choices && choices.length) { entry.choices = choices; entry.quick = !!m.quick_replies; }
    var att = m.attachment;
    if (att && att.type === "image" && att.payload) { entry.image = att.payload.src; entry.alt = att.payload.alt; }
    if (entry.text || entry.image || entry.choices) add(entry);
  }

  /* ---------- Engine.IO v4 / Socket.IO v5 over WebSocket ---------- */
  var ws = null, ready = false, attempts = 0, watchdog = null, pingWindow = 45000;
  var outbox = [];
  function wsUrl() {
    var u = new URL(socketPath, base);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.search = "?EIO=4&transport=websocket";
    return u.href;
  }
  function emit(name, data) {
    if (ws && ws.readyState === 1) ws.send("42" + JSON.stringify([name, data]));
  }
  function alive() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () { if (ws) ws.close(); }, pingWindow);
  }
  function status(text) { conn.textContent = text; conn.hidden = !text; }
  function connect() {
    ready = false;
    try { ws = new WebSocket(wsUrl()); } catch (e) { return retry(); }
    ws.onmessage = function (msg) {
      var p = String(msg.data);
      alive();
      if (p[0] === "0") {
        var info = JSON.parse(p.slice(1));
        pingWindow = (info.pingInterval || 25000) + (info.pingTimeout || 20000);
        ws.send("40");
      } else if (p === "2") {
        ws.send("3");
      } else if (p.indexOf("40") === 0) {
        emit("session_request", { session_id: state.sessionId });
      } else if (p.indexOf("42") === 0) {
        var ev = JSON.parse(p.slice(2));
        dispatch(ev[0], ev[1]);
      } else if (p.indexOf("41") === 0 || p.indexOf("44") === 0 || p === "1") {
        ws.close();
      }
    };
    ws.onclose = function () { ready = false; clearTimeout(watchdog); retry(); };
    ws.onerror = function () { /* onclose follows */ };
  }
  function retry() {
    ws = null;
    var delay = Math.min(10000, 500 * Math.pow(2, attempts++)) * (0.75 + Math.random() / 2);
    status("Reconnecting\u2026");
    setTimeout(connect, delay);
  }
  function dispatch(name, data) {
    if (name === "session_confirm") {
      var id = typeof data === "string" ? data : data && data.session_id;
      var fresh = id !== state.sessionId;
      if (fresh && state.sessionId) { state.history = []; log.textContent = ""; }
      state.sessionId = id; save();
      root.dataset.sessionId = id;
      ready = true; attempts = 0; status("");
      if (fresh && opt.initialPayload) outbox.unshift({ message: opt.initialPayload });
      while (outbox.length) emit("user_uttered", outbox.shift());
    } else if (name === "bot_uttered") {
      onBotUttered(data);
    } else if (name === "bot_typing") {
      if (data && !data.typing) showTyping(false);
    } else if (name === "bot_error") {
      showTyping(false);
      add({ from: "status", text: (data && data.message) || "Something went wrong." });
    }
  }
  function send(payload, shown) {
    add({ from: "user", text: shown });
    showTyping(true);
    var data = { message: payload, session_id: state.sessionId };
    if (ready) emit("user_uttered", data); else outbox.push(data);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, text);
    input.focus();
  });

  function start() {
    var css = el("link");
    css.rel = "stylesheet";
    css.href = opt.css || src.href.replace(/widget\.js(\?.*)?$/, "widget.css");
    document.head.appendChild(css);
    document.body.appendChild(root);
    state.history.forEach(render);
    setOpen(opt.open === "true" || state.open, false);
    status("Connecting\u2026");
    connect();
  }
  window.PinecrestChat = {
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    sessionId: function () { return state.sessionId; },
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
