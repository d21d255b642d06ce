/* chatd web page: joins the room over ws:// or wss:// of the page's own
 * origin + "/chat".  Everything shown goes through textContent, never
 * innerHTML: a nick or line with markup in it is shown as text. */
(function () {
  'use strict';

  var PATH = '/chat';
  var BACKOFF_MIN = 500, BACKOFF_MAX = 10000;
  var MAX_LINES = 1000, MAX_HISTORY = 100;

  var log = document.getElementById('log');
  var state = document.getElementById('state');
  var form = document.getElementById('form');
  var input = document.getElementById('input');

  var sock = null, backoff = BACKOFF_MIN, retry = null, quitting = false;
  var history = [], hpos = 0, draft = '';

  function url() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    return scheme + location.host + PATH;
  }

  function setState(cls, text) {
    state.className = 'state ' + cls;
    state.textContent = text;
    document.body.setAttribute('data-state', cls);
  }

  function span(cls, text) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  /* "NAME: text" is a chat line, "* NAME text" a /me line or a notice
   * ("* users: ...", "* NAME has joined", "* error: ..."): the first word
   * after "* " is set apart as a name unless it ends with ':'. */
  function show(line, local) {
    var li = document.createElement('li');
    var m;
    if (local) {
      li.className = 'local';
      li.textContent = line;
    } else if (line.lastIndexOf('* ', 0) === 0) {
      m = /^\* (\S+)( .*)?$/.exec(line);
      if (m && m[1].slice(-1) !== ':') {
        li.className = 'me';
        li.appendChild(document.createTextNode('* '));
        li.appendChild(span('nick', m[1]));
        li.appendChild(document.createTextNode(m[2] || ''));
      } else {
        li.className = 'notice';
        li.textContent = line;
      }
    } else if ((m = /^(\S+?): ([\s\S]*)$/.exec(line))) {
      /* a name has no space but may have colons: 127.0.0.1:40312, [::1]:40312 */
      li.className = 'chat';
      li.appendChild(span('nick', m[1]));
      li.appendChild(document.createTextNode(': ' + m[2]));
    } else {
      li.className = 'notice';
      li.textContent = line;
    }
    var main = log.parentNode;
    var atEnd = main.scrollTop + main.clientHeight >= main.scrollHeight - 4;
    log.appendChild(li);
    while (log.childNodes.length > MAX_LINES)
      log.removeChild(log.firstChild);
    if (atEnd)
      main.scrollTop = main.scrollHeight;
  }

  function connect() {
    retry = null;
    setState('connecting', 'connecting');
    var ws;
    try {
      ws = new WebSocket(url());
    } catch (e) {
      schedule();
      return;
    }
    sock = ws;
    ws.onopen = function () {
      backoff = BACKOFF_MIN;
      setState('open', 'connected');
    };
    ws.onmessage = function (ev) {
      if (typeof ev.data === 'string')
        ev.data.split('\n').forEach(function (l) { show(l, false); });
    };
    ws.onclose = function () {
      if (sock !== ws)
        return;
      sock = null;
      if (quitting) {
        setState('closed', 'disconnected');
        show('left the room; reload the page to join again', true);
        return;
      }
      schedule();
    };
  }

  function schedule() {
    var wait = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
    setState('closed', 'disconnected, retrying in ' + Math.ceil(wait / 1000) + ' s');
    retry = setTimeout(connect, wait);
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var line = input.value;
    if (line === '')
      return;
    if (!sock || sock.readyState !== WebSocket.OPEN) {
      show('not connected: line not sent', true);
      return;
    }
    sock.send(line);
    if (/^\/(quit|exit)\b/.test(line))
      quitting = true;
    if (history[history.length - 1] !== line)
      history.push(line);
    if (history.length > MAX_HISTORY)
      history.shift();
    hpos = history.length;
    draft = '';
    input.value = '';
  });

  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'ArrowUp' && hpos > 0) {
      if (hpos === history.length)
        draft = input.value;
      input.value = history[--hpos];
    } else if (ev.key === 'ArrowDown' && hpos < history.length) {
      hpos++;
      input.value = hpos === history.length ? draft : history[hpos];
    } else {
      return;
    }
    ev.preventDefault();
  });

  connect();
}());
