/* The lesson tutor beside a lesson: one script tag on the host page.

   <script src="https://TUTOR_HOST/widget.js" data-lesson="LESSON_ID" defer></script>

   The chat itself is the tutor's /embed page in an iframe (its styles and scripts never touch the host page);
   this script only places it (floating launcher or inline), passes the options, and, when a citation is
   clicked, finds the quoted passage in the host's own lesson text and highlights it. Messages are
   origin-checked both ways; nothing secret is ever put into the page. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var started = performance.now();
  var tutorOrigin = new URL(script.src, location.href).origin;
  var opts = script.dataset;
  var lesson = opts.lesson || "";
  var mode = opts.mode === "inline" ? "inline" : "floating";
  var registry = (window.__lessonTutor = window.__lessonTutor || { count: 0, widgets: [] });
  var id = "lesson-tutor-" + ++registry.count;
  var HIGHLIGHT = "lesson-tutor-cite";

  if (!lesson) {
    console.warn("lesson tutor: the script tag needs data-lesson=\"LESSON_ID\"");
    return;
  }

  var params = new URLSearchParams({ lesson: lesson, parent: location.origin, widget: id });
  if (opts.title) params.set("title", opts.title);
  if (opts.accent) params.set("accent", opts.accent);

  var host = document.createElement("div");
  host.setAttribute("data-lesson-tutor", id);
  var shadow = host.attachShadow({ mode: "open" });
  var accent = /^(#[0-9a-f]{3,8}|[a-z]{3,20})$/i.test(opts.accent || "") ? opts.accent : "#2563eb";
  var side = opts.position === "bottom-left" ? "left" : "right";
  var css =
    ":host{all:initial}" +
    ".panel{box-sizing:border-box;border:1px solid #d0d5dd;border-radius:12px;overflow:hidden;background:#fff;" +
    "box-shadow:0 8px 28px rgba(0,0,0,.18)}" +
    ".panel[hidden]{display:none}" +
    "iframe{display:block;width:100%;height:100%;border:0}" +
    ".inline{width:100%;height:" + (/^\d{3,4}$/.test(opts.height || "") ? opts.height : "560") + "px;box-shadow:none}" +
    ".floating{position:fixed;bottom:88px;" + side + ":20px;width:min(400px,calc(100vw - 24px));" +
    "height:min(620px,calc(100vh - 110px));z-index:2147483646}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483647;border:0;border-radius:28px;" +
    "padding:14px 18px;font:600 15px/1 system-ui,sans-serif;color:#fff;background:" + accent + ";cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".launcher:focus-visible{outline:3px solid #111;outline-offset:3px}" +
    "@media (max-width:480px){.floating{left:8px;right:8px;width:auto;bottom:80px}}";
  adopt(shadow, css);

  // Constructed style sheets (not <style> tags), so a host page with a strict style-src CSP still works.
  function adopt(root, css) {
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat([sheet]);
    } else {
      var tag = document.createElement("style");
      tag.textContent = css;
      (root.head || root).appendChild(tag);
    }
  }

  var panel = document.createElement("div");
  panel.className = "panel " + mode;
  panel.id = id + "-panel";
  var frame = document.createElement("iframe");
  frame.title = "Lesson tutor: ask about this lesson";
  frame.src = tutorOrigin + "/embed?" + params.toString();
  panel.appendChild(frame);
  var launcher = null;

  function setOpen(open, focusChat) {
    if (!launcher) return;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? "Close tutor" : opts.label || "Ask the tutor";
    host.setAttribute("data-open", String(open));
    if (open && focusChat) {
      frame.focus();
      send({ type: "tutor:focus" });
    }
    if (!open && focusChat) launcher.focus();
  }

  if (mode === "floating") {
    launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    launcher.setAttribute("aria-controls", panel.id);
    launcher.setAttribute("aria-haspopup", "dialog");
    launcher.addEventListener("click", function () {
      setOpen(panel.hidden, true);
    });
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "Lesson tutor");
    shadow.appendChild(panel);
    shadow.appendChild(launcher);
    setOpen(opts.open === "true" || opts.open === "", false);
    document.body.appendChild(host);
  } else {
    shadow.appendChild(panel);
    var container = opts.container ? document.querySelector(opts.container) : null;
    if (container) container.appendChild(host);
    else script.parentNode.insertBefore(host, script.nextSibling);
  }

  host.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && launcher && !panel.hidden) setOpen(false, true);
  });

  function send(message) {
    if (frame.contentWindow) frame.contentWindow.postMessage(message, tutorOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== tutorOrigin || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.widget !== id) return;
    if (data.type === "tutor:ready") {
      host.setAttribute("data-ready-ms", String(Math.round(performance.now() - started)));
    } else if (data.type === "tutor:cite" && typeof data.quote === "string") {
      host.setAttribute("data-highlighted", String(highlight(data.quote)));
    } else if (data.type === "tutor:close") {
      setOpen(false, true);
    }
  });

  // --- finding a quote in the host page's own lesson text ------------------------------------------------
  // The quote comes from the lesson source (Markdown); the page shows it rendered, with its own markup,
  // smart quotes and line breaks. Both sides are folded to letters and digits only, keeping, for each folded
  // character, the text node and offset it came from, so a match maps straight back to a DOM Range.
  function fold(text) {
    return text.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
  }

  function plain(quote) {
    return quote
      .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, " ")
      .replace(/^\s{0,3}(#{1,6}|[-*+]|\d+[.)]|>)\s+/gm, " ");
  }

  function lessonRoot() {
    var selector = opts.target || "main, article, body";
    var parts = selector.split(",");
    for (var i = 0; i < parts.length; i++) {
      var el = parts[i].trim() && document.querySelector(parts[i].trim());
      if (el) return el;
    }
    return document.body;
  }

  function textIndex(root) {
    var chars = [], nodes = [], offsets = [];
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentElement;
        if (!parent || parent.closest("script,style,noscript,template,textarea,[data-lesson-tutor]")) {
          return NodeFilter.FILTER_REJECT;
        }
        return NodeFilter.FILTER_ACCEPT;
      },
    });
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var data = node.data;
      for (var i = 0; i < data.length; i++) {
        var folded = fold(data[i]);
        for (var k = 0; k < folded.length; k++) {
          chars.push(folded[k]);
          nodes.push(node);
          offsets.push(i);
        }
      }
    }
    return { text: chars.join(""), nodes: nodes, offsets: offsets };
  }

  function locate(index, quote) {
    var whole = fold(plain(quote));
    if (!whole) return null;
    var at = index.text.indexOf(whole);
    if (at >= 0) return [at, at + whole.length];
    // Not verbatim on this page (a rendering differs somewhere): match its lines and sentences, and span
    // from the first found to the last found when they are in order and close; else the longest one.
    var pieces = plain(quote)
      .split(/\n+|(?<=[.!?;:])\s+/)
      .map(fold)
      .filter(function (p) { return p.length >= 12; });
    var found = [];
    pieces.forEach(function (piece) {
      var i = index.text.indexOf(piece);
      if (i >= 0) found.push([i, i + piece.length]);
    });
    if (!found.length) return null;
    var first = found[0], last = found[found.length - 1];
    if (last[1] > first[0] && last[1] - first[0] <= whole.length * 1.5) return [first[0], last[1]];
    return found.reduce(function (a, b) { return b[1] - b[0] > a[1] - a[0] ? b : a; });
  }

  var marks = [];
  function clearHighlight() {
    if (window.CSS && CSS.highlights) CSS.highlights.delete(HIGHLIGHT);
    marks.forEach(function (mark) {
      var parent = mark.parentNode;
      if (!parent) return;
      while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
      parent.removeChild(mark);
      parent.normalize();
    });
    marks = [];
  }

  function wrapInMarks(range) {
    var walker = document.createTreeWalker(range.commonAncestorContainer, NodeFilter.SHOW_TEXT);
    var texts = [];
    if (range.commonAncestorContainer.nodeType === Node.TEXT_NODE) texts.push(range.commonAncestorContainer);
    for (var n = walker.nextNode(); n; n = walker.nextNode()) if (range.intersectsNode(n)) texts.push(n);
    texts.forEach(function (node) {
      var start = node === range.startContainer ? range.startOffset : 0;
      var end = node === range.endContainer ? range.endOffset : node.data.length;
      if (end <= start) return;
      var middle = node.splitText(start);
      middle.splitText(end - start);
      var mark = document.createElement("mark");
      mark.setAttribute("data-lesson-tutor-mark", "");
      middle.parentNode.insertBefore(mark, middle);
      mark.appendChild(middle);
      marks.push(mark);
    });
  }

  function highlight(quote) {
    clearHighlight();
    var index = textIndex(lessonRoot());
    var span = locate(index, quote);
    if (!span) return false;
    var range = document.createRange();
    range.setStart(index.nodes[span[0]], index.offsets[span[0]]);
    var endNode = index.nodes[span[1] - 1];
    range.setEnd(endNode, index.offsets[span[1] - 1] + 1);
    var anchor = range.startContainer.parentElement;
    if (window.CSS && CSS.highlights && window.Highlight) {
      if (!registry.highlightStyle) {
        registry.highlightStyle = true;
        adopt(document, "::highlight(" + HIGHLIGHT + "){background-color:#fde68a;color:#111}");
      }
      CSS.highlights.set(HIGHLIGHT, new Highlight(range));
    } else {
      wrapInMarks(range);
    }
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (anchor) anchor.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
    return true;
  }

  document.addEventListener("pointerdown", function (event) {
    if (!host.contains(event.target)) clearHighlight();
  });

  registry.widgets.push({ id: id, lesson: lesson, host: host, highlight: highlight, clear: clearHighlight });
})();
