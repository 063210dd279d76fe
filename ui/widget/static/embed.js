/* The compact chat shown beside a lesson (/embed?lesson=ID), built on the tutor's HTTP API.

   Answers stream over Server-Sent Events; the final answer's [n] markers become numbered citation chips
   that show their quoted passage on hover or focus and, when clicked, ask the host page (via widget.js) to
   highlight that passage in its own lesson text. Everything the tutor or the lesson says is set as text,
   never parsed as HTML. */
(function () {
  "use strict";
  var body = document.body;
  var lesson = body.dataset.lesson;
  var widget = body.dataset.widget || "";
  var parentOrigin = body.dataset.parent || "";
  var source = body.dataset.source || "";
  var log = document.querySelector(".log");
  var starters = document.querySelector(".starters");
  var form = document.querySelector(".ask");
  var input = document.getElementById("question");
  var sendButton = document.querySelector(".send");
  var history = [];
  var busy = false;
  var controller = null;
  var tips = 0;

  if (/^(#[0-9a-f]{3,8}|[a-z]{3,20})$/i.test(body.dataset.accent || "")) {
    body.style.setProperty("--accent", body.dataset.accent);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function toParent(message) {
    if (!parentOrigin || window.parent === window) return;
    message.widget = widget;
    window.parent.postMessage(message, parentOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    if (event.data && event.data.type === "tutor:focus") input.focus();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") toParent({ type: "tutor:close" });
  });

  // --- rendering ---------------------------------------------------------------------------------------
  function bubble(role) {
    var node = el("div", "msg " + role);
    log.appendChild(node);
    node.scrollIntoView({ block: "end" });
    return node;
  }

  function fragmentLink(quote) {
    if (!/^https?:\/\//.test(source)) return "";
    var words = quote.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/[*_`#>|]/g, " ").split(/\s+/).filter(Boolean);
    var enc = function (list) {
      return encodeURIComponent(list.join(" ")).replace(/-/g, "%2D").replace(/,/g, "%2C").replace(/&/g, "%26");
    };
    var text = words.length <= 8 ? enc(words) : enc(words.slice(0, 4)) + "," + enc(words.slice(-4));
    return source.split("#")[0] + "#:~:text=" + text;
  }

  function chip(citation) {
    var wrap = el("span", "cite");
    var button = el("button", "chip", String(citation.n));
    button.type = "button";
    button.setAttribute("aria-label", "Source " + citation.n + " (show it in the lesson)");
    var tip = el("span", "tip");
    tip.id = "tip-" + ++tips;
    tip.setAttribute("role", "tooltip");
    button.setAttribute("aria-describedby", tip.id);
    tip.appendChild(el("span", "tip-section", citation.section || citation.title || ""));
    tip.appendChild(el("q", "tip-quote", citation.quote));
    var link = fragmentLink(citation.quote);
    if (link) {
      var a = el("a", "tip-link", "Open in the lesson");
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      tip.appendChild(a);
    }
    // The tip is fixed to the viewport and placed beside its chip, so it is never cut off at the frame's edge.
    function place() {
      var r = button.getBoundingClientRect();
      tip.style.display = "block";
      var w = tip.offsetWidth, h = tip.offsetHeight;
      var left = Math.min(Math.max(8, r.left + r.width / 2 - w / 2), window.innerWidth - w - 8);
      var top = r.top - h - 3 >= 8 ? r.top - h - 3 : Math.min(r.bottom + 3, window.innerHeight - h - 8);
      tip.style.left = Math.max(8, left) + "px";
      tip.style.top = Math.max(8, top) + "px";
      tip.style.display = "";
    }
    wrap.addEventListener("mouseenter", place);
    wrap.addEventListener("focusin", place);
    button.addEventListener("click", function () {
      document.querySelectorAll(".chip.active").forEach(function (c) { c.classList.remove("active"); });
      button.classList.add("active");
      toParent({ type: "tutor:cite", n: citation.n, quote: citation.quote });
    });
    wrap.appendChild(button);
    wrap.appendChild(tip);
    return wrap;
  }

  function renderAnswer(node, answer) {
    node.textContent = "";
    node.classList.toggle("refusal", !!answer.refused);
    if (answer.refused) node.appendChild(el("span", "badge", "Not in this lesson"));
    var text = el("p", "text");
    var byNumber = {};
    (answer.citations || []).forEach(function (c) { byNumber[c.n] = c; });
    answer.answer.split(/(\[\d+\])/).forEach(function (part) {
      var m = /^\[(\d+)\]$/.exec(part);
      if (m && byNumber[m[1]]) text.appendChild(chip(byNumber[m[1]]));
      else if (part) text.appendChild(document.createTextNode(part));
    });
    node.appendChild(text);
    node.appendChild(feedback(answer));
  }

  // One vote per answer: the rows are keyed by the answer's id, so changing 👍 to 👎 (or adding a comment)
  // replaces the stored vote. Posts go one after another so the last vote clicked is the one that stays.
  var feedbackQueue = Promise.resolve();

  function sendFeedback(answer, rating, comment, status) {
    var body = { question: answer.question, answer: answer.answer, lesson_id: lesson, rating: rating };
    if (answer.id) body.answer_id = answer.id;
    if (comment) body.comment = comment;
    var sent = feedbackQueue.then(function () {
      return fetch("/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }).then(function (r) { return r.ok; }, function () { return false; });
    });
    feedbackQueue = sent;
    return sent.then(function (ok) {
      status.textContent = ok ? "Thanks!" : "Could not save that.";
      return ok;
    });
  }

  function feedback(answer) {
    var wrap = el("div", "feedback-wrap");
    var row = el("div", "feedback");
    var status = el("span", "thanks");
    var rating = "", saved = "";
    var rates = [];
    var comment = commentForm(function (text) { return sendFeedback(answer, rating, text, status); }, function () {
      var pressed = row.querySelector(".rate[aria-pressed='true']");
      if (pressed) pressed.focus();
    });
    [["up", "👍", "Helpful"], ["down", "👎", "Not helpful"]].forEach(function (spec) {
      var b = el("button", "rate", spec[1]);
      b.type = "button";
      b.setAttribute("aria-label", spec[2]);
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () {
        if (rating === spec[0] && saved === rating) return; // already stored; a failed vote may be retried
        var vote = (rating = spec[0]);
        rates.forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        status.textContent = "";
        sendFeedback(answer, vote, "", status).then(function (ok) { saved = ok ? vote : ""; });
        comment.hidden = false;
      });
      rates.push(b);
      row.appendChild(b);
    });
    row.appendChild(status);
    wrap.appendChild(row);
    wrap.appendChild(comment);
    return wrap;
  }

  // The optional "why" after a vote: a labelled textarea and a Send button (Enter sends, Shift+Enter adds a line).
  function commentForm(send, done) {
    var box = el("form", "comment");
    box.hidden = true;
    box.noValidate = true;
    var id = "comment-" + ++tips;
    var label = el("label", "comment-label", "Anything to add? (optional)");
    label.htmlFor = id;
    var text = el("textarea");
    text.id = id;
    text.rows = 2;
    text.maxLength = 2000;
    text.placeholder = "What was helpful, missing or wrong?";
    var button = el("button", "comment-send", "Send");
    button.type = "submit";
    box.appendChild(label);
    box.appendChild(text);
    box.appendChild(button);
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = text.value.trim();
      if (!value || button.disabled) return;
      button.disabled = true;
      send(value).then(function (ok) {
        button.disabled = false;
        if (!ok) return;
        text.value = "";
        box.hidden = true;
        done();
      });
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        box.requestSubmit();
      }
    });
    return box;
  }

  function showError(node, message) {
    node.textContent = "";
    node.classList.add("error");
    node.appendChild(el("p", "text", message));
  }

  // --- asking ------------------------------------------------------------------------------------------
  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    form.setAttribute("aria-busy", String(value));
  }

  function ask(question) {
    question = question.trim();
    if (!question || busy) return;
    setBusy(true);
    starters.hidden = true;
    bubble("user").textContent = question;
    var node = bubble("bot streaming");
    var streamed = el("p", "text");
    node.appendChild(streamed);
    controller = new AbortController();
    var turns = history.slice(-10);
    var asked = performance.now();
    var tokens = 0;
    fetch("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question: question, lesson_id: lesson, history: turns }),
      signal: controller.signal,
    })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(
            function (data) { throw new Error(explain(response.status, data.detail)); },
            function () { throw new Error(explain(response.status)); }
          );
        }
        return readEvents(response, function (event, data) {
          if (event === "token") {
            // Each piece is shown as it arrives; the counts let an author (or a test) see the stream.
            if (!tokens) node.setAttribute("data-first-token-ms", String(Math.round(performance.now() - asked)));
            node.setAttribute("data-tokens", String(++tokens));
            streamed.textContent += data.text;
          } else if (event === "answer") {
            node.classList.remove("streaming");
            renderAnswer(node, data);
            history.push({ role: "user", content: question }, { role: "assistant", content: data.answer });
          } else if (event === "error") {
            throw new Error(explain(data.status, data.detail));
          }
        });
      })
      .catch(function (err) {
        if (err.name === "AbortError") return;
        node.classList.remove("streaming");
        showError(node, err.message || "The tutor could not answer just now. Please try again.");
      })
      .finally(function () {
        setBusy(false);
        input.focus();
      });
  }

  function explain(status, detail) {
    if (typeof detail !== "string") detail = "";
    if (status === 429) return "Lots of questions right now — please wait a moment and ask again.";
    if (status === 503) return "The tutor is busy or unavailable right now" + (detail ? ": " + detail : ".");
    if (status >= 400 && status < 500) return detail || "The tutor could not take that question.";
    return "The tutor could not answer just now" + (detail ? ": " + detail : ". Please try again.");
  }

  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
        var blocks = buffer.split("\n\n");
        buffer = chunk.done ? "" : blocks.pop();
        blocks.forEach(function (block) {
          var event = "message", data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) event = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          if (data) onEvent(event, JSON.parse(data));
        });
        if (!chunk.done) return pump();
      });
    }
    return pump();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value;
    input.value = "";
    ask(question);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.querySelector(".reset").addEventListener("click", function () {
    if (controller) controller.abort();
    history = [];
    log.textContent = "";
    starters.hidden = false;
    setBusy(false);
    input.value = "";
    input.focus();
  });

  function loadStarters() {
    fetch("/api/lessons/" + encodeURIComponent(lesson) + "/starters?n=3")
      .then(function (r) { return r.ok ? r.json() : { questions: [] }; })
      .then(function (data) {
        (data.questions || []).forEach(function (q) {
          var b = el("button", "starter", q);
          b.type = "button";
          b.addEventListener("click", function () { ask(q); });
          starters.appendChild(b);
        });
      })
      .catch(function () {});
  }

  input.disabled = false;
  sendButton.disabled = false;
  toParent({ type: "tutor:ready" });
  loadStarters();
})();
