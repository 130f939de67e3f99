/*
 * CMP chat widget. Plain JavaScript, no build step, no dependencies.
 *
 * Embed (the snippet of GET /v1/subscriptions/{id}/widget/embed):
 *   <script src="{API}/v1/widget/chat.js" data-token="ar_wt_…" data-subscription="{id}" async></script>
 *
 * On load it reads the agent's widget settings (GET {API}/v1/agents/{id}/widget: type floating | popup |
 * inline | fullpage, theme light | dark | auto, colors, position, size {width, height} in pixels, avatar,
 * launcher {text, icon}, welcome message, suggested prompts, branding name), renders a launcher and a chat
 * panel inside a shadow root (the page's CSS cannot reach it, and it cannot reach the page's), and sends each
 * message over the WebSocket API when the browser has WebSocket and the socket opens (docs/websocket.md: the
 * answer streams in token by token; the URL is `data-websocket`, else `{API}` with ws(s):// and /ws, where the
 * local runner serves it), else to POST {API}/v1/agents/{id}/chat (the REST route, used from then on), with
 * the widget token (in the socket's query string: browsers cannot set its headers). The browser adds the
 * page's Origin; the platform refuses a token used from an origin it does not list (403), and the widget
 * then says so instead of chatting. Answers show their numbered citations (title, page or link, snippet).
 * All text from the API is inserted as text (textContent), never as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.dataset || !script.dataset.token || !script.dataset.subscription) {
    return;
  }
  var token = script.dataset.token;
  var subscription = script.dataset.subscription;
  var api = script.src.replace(/\/v1\/widget\/chat\.js(\?.*)?$/, "");
  var sessionId = null;
  var socketUrl = script.dataset.websocket || api.replace(/^http/, "ws") + "/ws";
  var socket = null;
  var socketFailed = typeof window.WebSocket !== "function";
  var pending = null;
  var FRAME_STATUS = {
    unauthorized: 401, credential_missing: 401, credential_unknown: 401, credential_revoked: 401,
    credential_expired: 401, forbidden: 403, origin_not_allowed: 403, subscription_not_callable: 403,
    not_found: 404, rate_limited: 429, quota_exceeded: 429
  };

  var COLORS = { primary: "#2563eb", background: "#ffffff", text: "#111827" };
  var DARK = { primary: "#60a5fa", background: "#111827", text: "#f9fafb" };

  function call(method, path, body) {
    var init = {
      method: method,
      headers: { Authorization: "Bearer " + token, Accept: "application/json" },
      mode: "cors",
      credentials: "omit"
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(api + path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = new Error((data && data.message) || ("HTTP " + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  // The WebSocket transport: one socket for the page, one turn at a time (`pending` receives its frames).
  // A socket that cannot open rejects with `fallback` set: the caller then uses the REST route.
  function openSocket() {
    if (socket && socket.readyState === 1) { return Promise.resolve(socket); }
    return new Promise(function (resolve, reject) {
      var ws = new WebSocket(socketUrl + "?subscription_id=" + encodeURIComponent(subscription) +
        "&api_key=" + encodeURIComponent(token));
      var opened = false;
      ws.onopen = function () { opened = true; socket = ws; resolve(ws); };
      ws.onmessage = function (event) {
        var frame = null;
        try { frame = JSON.parse(event.data); } catch (e) { frame = null; }
        if (frame && pending) { pending.frame(frame); }
      };
      ws.onclose = function () {
        if (socket === ws) { socket = null; }
        if (!opened) {
          var error = new Error("WebSocket unavailable");
          error.fallback = true;
          reject(error);
        } else if (pending) {
          pending.lost();
        }
      };
    });
  }

  function askSocket(body, onText) {
    return openSocket().then(function (ws) {
      return new Promise(function (resolve, reject) {
        var text = "";
        pending = {
          frame: function (frame) {
            if (frame.type === "token") {
              text += frame.text;
              onText(text);
            } else if (frame.type === "done") {
              pending = null;
              resolve(frame);
            } else if (frame.type === "error") {
              pending = null;
              var error = new Error(frame.message);
              error.status = FRAME_STATUS[frame.error] || 500;
              reject(error);
            }
          },
          lost: function () {
            pending = null;
            reject(new Error("the connection was lost"));
          }
        };
        var message = { action: "chat", message: body.message };
        if (body.session_id) { message.session_id = body.session_id; }
        ws.send(JSON.stringify(message));
      });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function refusal(error) {
    if (error && error.status === 403) {
      return "This chat is not available on this website (" + window.location.origin + ").";
    }
    if (error && error.status === 401) {
      return "This chat's access token is no longer valid.";
    }
    if (error && error.status === 429) {
      return "Too many messages right now; please try again in a moment.";
    }
    return "The assistant is unavailable right now; please try again later.";
  }

  function styles(settings) {
    var dark = settings.theme === "dark" ||
      (settings.theme === "auto" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
    var theme = dark ? DARK : COLORS;
    var colors = settings.colors || {};
    var primary = colors.primary || theme.primary;
    var background = colors.background || theme.background;
    var text = colors.text || theme.text;
    var position = String(settings.position || "bottom-right");
    var side = position.indexOf("left") >= 0 ? "left" : "right";
    var edge = position.indexOf("top") === 0 ? "top" : "bottom";
    var size = settings.size || {};
    var width = size.width || 360;
    var height = size.height || 480;
    return [
      ":host { all: initial; }",
      ".launcher { position: fixed; " + edge + ": 20px; " + side + ": 20px; width: 56px; height: 56px;",
      "  border-radius: 50%; border: none; background: " + primary + "; color: #fff; cursor: pointer;",
      "  font: 600 14px/56px system-ui, sans-serif; box-shadow: 0 4px 12px rgba(0,0,0,.25); padding: 0;",
      "  z-index: 2147483000; overflow: hidden; }",
      ".launcher img { width: 100%; height: 100%; object-fit: cover; }",
      ".panel { position: fixed; " + edge + ": 88px; " + side + ": 20px; width: " + width + "px; max-width: calc(100vw - 40px);",
      "  height: " + height + "px; max-height: calc(100vh - 120px); display: none; flex-direction: column;",
      "  background: " + background + "; color: " + text + "; border-radius: 12px;",
      "  box-shadow: 0 8px 30px rgba(0,0,0,.3); font: 14px/1.45 system-ui, sans-serif; z-index: 2147483000; overflow: hidden; }",
      ".panel.open { display: flex; }",
      ".inline { position: static; display: flex; width: 100%; max-width: none; box-shadow: none; border: 1px solid #ddd; }",
      ".fullpage { inset: 0; width: auto; height: auto; max-width: none; max-height: none; border-radius: 0; }",
      ".header { display: flex; align-items: center; gap: 8px; padding: 12px; background: " + primary + "; color: #fff; font-weight: 600; }",
      ".header img { width: 28px; height: 28px; border-radius: 50%; }",
      ".messages { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }",
      ".message { max-width: 85%; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }",
      ".user { align-self: flex-end; background: " + primary + "; color: #fff; }",
      ".bot { align-self: flex-start; background: rgba(127,127,127,.15); }",
      ".notice { align-self: stretch; background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; }",
      ".citations { margin: 6px 0 0; padding-left: 18px; font-size: 12px; opacity: .85; }",
      ".citations a { color: inherit; }",
      ".prompts { display: flex; flex-wrap: wrap; gap: 6px; padding: 0 12px 8px; }",
      ".prompts button { border: 1px solid " + primary + "; color: " + primary + "; background: transparent;",
      "  border-radius: 14px; padding: 4px 10px; cursor: pointer; font: inherit; font-size: 12px; }",
      "form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid rgba(127,127,127,.3); }",
      "input { flex: 1; padding: 8px; border-radius: 6px; border: 1px solid rgba(127,127,127,.5); font: inherit;",
      "  background: transparent; color: inherit; }",
      "form button { border: none; border-radius: 6px; padding: 8px 12px; background: " + primary + "; color: #fff; cursor: pointer; font: inherit; }",
      "button:disabled, input:disabled { opacity: .5; cursor: not-allowed; }"
    ].join("\n");
  }

  function citationList(citations) {
    var list = el("ol", "citations");
    citations.forEach(function (citation) {
      var item = el("li", "citation");
      var label = citation.title || "Source";
      if (citation.page) { label += ", page " + citation.page; }
      if (citation.url && /^https?:\/\//.test(citation.url)) {
        var link = el("a", null, label);
        link.href = citation.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        item.appendChild(link);
      } else {
        item.appendChild(el("span", null, label));
      }
      if (citation.snippet) {
        item.appendChild(el("div", "snippet", "“" + citation.snippet + "”"));
      }
      list.appendChild(item);
    });
    return list;
  }

  function mount(settings) {
    var host = el("div");
    host.setAttribute("data-cmp-chat", subscription);
    var root = host.attachShadow({ mode: "open" });
    var style = el("style");
    style.textContent = styles(settings);
    root.appendChild(style);

    var inline = settings.type === "inline";
    var fullpage = settings.type === "fullpage";
    var panel = el("section", "panel" + (inline ? " inline open" : fullpage ? " fullpage open" : ""));
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", settings.branding_name || "Chat");
    var header = el("div", "header");
    if (settings.avatar && /^https:\/\//.test(settings.avatar)) {
      var avatar = el("img");
      avatar.src = settings.avatar;
      avatar.alt = "";
      header.appendChild(avatar);
    }
    header.appendChild(el("span", null, settings.branding_name || "Chat"));
    var messages = el("div", "messages");
    messages.setAttribute("aria-live", "polite");
    var prompts = el("div", "prompts");
    var form = el("form");
    var input = el("input");
    input.type = "text";
    input.placeholder = "Type your message…";
    input.setAttribute("aria-label", "Message");
    var send = el("button", null, "Send");
    send.type = "submit";
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(header);
    panel.appendChild(messages);
    panel.appendChild(prompts);
    panel.appendChild(form);

    function add(className, text) {
      var node = el("div", "message " + className, text);
      messages.appendChild(node);
      messages.scrollTop = messages.scrollHeight;
      return node;
    }

    function disable(reason) {
      add("notice", reason);
      input.disabled = true;
      send.disabled = true;
      prompts.textContent = "";
    }

    function ask(text) {
      text = String(text || "").trim();
      if (!text || input.disabled) { return; }
      add("user", text);
      input.value = "";
      send.disabled = true;
      var thinking = add("bot pending", "…");
      var body = { message: text };
      if (sessionId) { body.session_id = sessionId; }
      var rest = function () { return call("POST", "/v1/agents/" + encodeURIComponent(subscription) + "/chat", body); };
      var turn = socketFailed ? rest() : askSocket(body, function (text) {
        thinking.className = "message bot streaming";
        thinking.textContent = text;
        messages.scrollTop = messages.scrollHeight;
      }).catch(function (error) {
        if (!error.fallback) { throw error; }
        socketFailed = true;
        return rest();
      });
      turn
        .then(function (answer) {
          sessionId = answer.session_id || sessionId;
          thinking.className = "message bot answer";
          thinking.textContent = answer.answer;
          if (answer.citations && answer.citations.length) {
            thinking.appendChild(citationList(answer.citations));
          }
          send.disabled = false;
        })
        .catch(function (error) {
          messages.removeChild(thinking);
          if (error.status === 401 || error.status === 403) {
            disable(refusal(error));
          } else {
            add("notice", refusal(error));
            send.disabled = false;
          }
        });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ask(input.value);
    });
    (settings.suggested_prompts || []).slice(0, 4).forEach(function (prompt) {
      var chip = el("button", null, prompt);
      chip.type = "button";
      chip.addEventListener("click", function () { ask(prompt); });
      prompts.appendChild(chip);
    });
    if (settings.welcome_message) {
      add("bot welcome", settings.welcome_message);
    }

    if (inline || fullpage) {
      var target = script.parentNode && script.parentNode !== document.head ? script.parentNode : document.body;
      target.insertBefore(host, script.nextSibling);
    } else {
      var launcherSettings = settings.launcher || {};
      var icon = launcherSettings.icon && /^https:\/\//.test(launcherSettings.icon) ? launcherSettings.icon : null;
      var launcher = el("button", "launcher", icon ? "" : (launcherSettings.text || "Chat"));
      launcher.type = "button";
      launcher.setAttribute("aria-label", "Open chat");
      if (icon) {
        var image = el("img");
        image.src = icon;
        image.alt = "";
        launcher.appendChild(image);
      }
      launcher.addEventListener("click", function () {
        var open = panel.classList.toggle("open");
        launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
        if (open) { input.focus(); }
      });
      root.appendChild(launcher);
      document.body.appendChild(host);
    }
    root.appendChild(panel);
    return { disable: disable };
  }

  function start() {
    call("GET", "/v1/agents/" + encodeURIComponent(subscription) + "/widget")
      .then(function (settings) { mount(settings || {}); })
      .catch(function (error) {
        var widget = mount({ type: "floating", branding_name: "Chat" });
        widget.disable(refusal(error));
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
