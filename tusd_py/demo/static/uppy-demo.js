/* The Uppy page: Uppy's Dashboard sends with @uppy/tus; the server's events on one WebSocket show what it stored. */
'use strict';

(function () {
  const page = document.body.dataset;
  const query = new URLSearchParams(window.location.search);
  // Relative to the page (e.g. "../files/"), so it holds under a mount path or a proxy prefix.
  const endpoint = new URL(page.endpoint, window.location.href).href;
  // ?chunk_size=262144 sends each file in PATCHes of that many bytes (default: one PATCH per file).
  const chunkSize = Number(query.get('chunk_size')) > 0 ? Number(query.get('chunk_size')) : Infinity;
  const MAX_LOG_ENTRIES = 2000;

  // The plain page's credentials box keeps the token in this browser: this page reuses it.
  function token() {
    try {
      return page.authScheme ? (window.localStorage.getItem('tusd_py.demo.token') || '') : '';
    } catch (error) {
      return '';
    }
  }

  function authHeaders() {
    const value = token();
    if (!value) return {};
    return page.authScheme === 'ApiKey' ? { 'X-API-Key': value } : { Authorization: `Bearer ${value}` };
  }

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // -- the server's events ------------------------------------------------------------------------------------

  /* One socket on `<endpoint>events`, subscribed to each batch Uppy sends; after a reconnect each batch is
     subscribed again from the last seq seen, so the server replays what was missed. */
  class BatchEvents {
    constructor(onEvent, onState) {
      this.onEvent = onEvent;
      this.onState = onState;
      this.batches = new Map(); // batch -> last seq seen, or undefined
      this.waiting = new Map(); // batch -> resolve() of the promise follow() returned
      this.seen = new Map(); // stream -> last seq handed on
      this.socket = null;
      this.connect();
    }

    connect() {
      const url = new URL('events', endpoint);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      if (token()) url.searchParams.set('token', token());
      const socket = new WebSocket(url.href);
      this.socket = socket;
      this.onState('connecting');
      socket.addEventListener('open', () => {
        this.onState('open');
        for (const batch of this.batches.keys()) this.subscribe(batch);
      });
      socket.addEventListener('message', (message) => this.receive(JSON.parse(message.data)));
      socket.addEventListener('close', (closed) => {
        if (closed.code === 4401) {
          // Credentials are typed on the plain page; retrying with the same ones would be refused again.
          this.onState('refused', closed.reason);
          return;
        }
        this.onState('closed', `${closed.reason || 'connection lost'}; retrying`);
        window.setTimeout(() => this.connect(), 1000);
      });
    }

    /* Resolves once the server confirmed the subscription (or after a few seconds: uploads never wait long). */
    follow(batch) {
      this.batches.set(batch, undefined);
      const subscribed = new Promise((resolve) => {
        this.waiting.set(batch, resolve);
        window.setTimeout(resolve, 5000);
      });
      this.subscribe(batch);
      return subscribed;
    }

    subscribe(batch) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return; // sent on open
      const message = { action: 'subscribe', batch };
      const seq = this.seen.get(`batch:${batch}`);
      if (seq !== undefined) message.since = seq;
      this.socket.send(JSON.stringify(message));
    }

    receive(message) {
      if (message.type === 'subscribed') {
        const resolve = this.waiting.get(message.batch);
        if (resolve) resolve();
        return;
      }
      if (['unsubscribed', 'pong', 'stats'].includes(message.type)) return;
      const stream = message.upload_id ? `upload:${message.upload_id}` : `batch:${message.batch}`;
      const last = this.seen.get(stream);
      if (last !== undefined && message.seq !== 0 && message.seq <= last) return; // a replay overlapping the live stream
      if (message.seq !== undefined) this.seen.set(stream, Math.max(last || 0, message.seq));
      this.onEvent(message);
    }
  }

  // -- what the page shows -------------------------------------------------------------------------------------

  const log = document.getElementById('event-log');
  const count = document.getElementById('event-count');
  const stored = document.getElementById('stored');
  const connection = document.getElementById('connection');
  let received = 0;

  function describe(event) {
    const parts = [];
    if (event.filename) parts.push(event.filename);
    if (event.offset !== undefined && event.offset !== null) {
      parts.push(`${event.offset} of ${event.length === null ? '?' : event.length} bytes`);
    }
    if (event.percentage !== undefined && event.percentage !== null) parts.push(`${event.percentage.toFixed(1)} %`);
    if (event.total !== undefined) parts.push(`${event.finished} of ${event.total} finished, ${event.failed} failed`);
    if (event.type === 'error') parts.push(event.error_message);
    return parts.join(' · ');
  }

  function showEvent(event) {
    received += 1;
    count.textContent = String(received);
    const entry = document.createElement('li');
    entry.dataset.type = event.type;
    if (event.upload_id) entry.dataset.uploadId = event.upload_id;
    if (event.filename) entry.dataset.filename = event.filename;
    const type = document.createElement('span');
    type.className = 'event-type';
    type.textContent = event.type;
    entry.append(type, describe(event));
    log.prepend(entry);
    while (log.childElementCount > MAX_LOG_ENTRIES) log.lastElementChild.remove();
    if (event.upload_id && event.offset !== undefined) showStored(event);
  }

  // One line per upload: what the server says it stored (the Dashboard's bars count what the browser sent).
  function showStored(event) {
    let line = stored.querySelector(`li[data-upload-id="${CSS.escape(event.upload_id)}"]`);
    if (!line) {
      line = document.createElement('li');
      line.className = 'file';
      line.dataset.uploadId = event.upload_id;
      stored.append(line);
    }
    if (event.filename) line.dataset.filename = event.filename;
    line.dataset.offset = String(event.offset);
    line.dataset.status = event.status || event.type;
    line.textContent = `${event.filename || event.upload_id}: ${describe({ ...event, filename: null })} · ${line.dataset.status}`;
  }

  const events = new BatchEvents(showEvent, (state, detail) => {
    connection.dataset.state = state;
    connection.textContent = `Live events: ${state}${detail ? ` (${detail})` : ''}`;
  });

  // -- Uppy --------------------------------------------------------------------------------------------------

  if (!window.Uppy) return; // the install notice says what to do
  const { Uppy, Dashboard, Tus } = window.Uppy;
  const uppy = new Uppy({ id: 'tusd-py', allowMultipleUploadBatches: true })
    .use(Dashboard, {
      inline: true,
      target: '#uppy-dashboard',
      width: '100%',
      height: 420,
      showProgressDetails: true,
      proudlyDisplayPoweredByUppy: false,
    })
    .use(Tus, {
      endpoint,
      chunkSize,
      headers: () => authHeaders(),
      retryDelays: [0, 1000, 3000, 5000],
    });

  // Each press of Upload is one batch: the server counts it and reports it (`batch-progress`, `batch-completed`).
  uppy.addPreProcessor(async (fileIDs) => {
    const batch = randomId();
    for (const id of fileIDs) uppy.setFileMeta(id, { batch, batch_total: String(fileIDs.length) });
    await events.follow(batch);
  });
  uppy.on('complete', (result) => {
    document.body.dataset.uppyFinished = String(result.successful.length);
    document.body.dataset.uppyFailed = String(result.failed.length);
  });
  window.uppy = uppy; // for the console, and for tests
})();
