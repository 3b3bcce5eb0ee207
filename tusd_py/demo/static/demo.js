/* The tusd_py demo page: uploads with tus-js-client; every bar, speed and ETA comes from the server's events. */
'use strict';

(function () {
  const page = document.body.dataset;
  const query = new URLSearchParams(window.location.search);

  const config = {
    // Relative to the page (e.g. "../files/"), so it holds under a mount path or a proxy prefix.
    endpoint: new URL(page.endpoint, window.location.href).href,
    authScheme: page.authScheme || '', // "Bearer", "ApiKey" or "" (no auth)
    // ?chunk_size=262144 sends each file in PATCHes of that many bytes (default: one PATCH per file).
    chunkSize: positiveInteger(query.get('chunk_size')) || Infinity,
    // ?parallel=3: how many files send bytes at once.
    parallel: positiveInteger(query.get('parallel')) || 3,
    transport: query.get('transport') || 'tus',
  };

  function positiveInteger(text) {
    const value = Number(text);
    return Number.isInteger(value) && value > 0 ? value : null;
  }

  // -- formatting ---------------------------------------------------------------------------------------

  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

  function formatBytes(bytes) {
    if (bytes === null || bytes === undefined) return '?';
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
  }

  function formatSpeed(bytesPerSecond) {
    return bytesPerSecond === null || bytesPerSecond === undefined ? '' : `${formatBytes(bytesPerSecond)}/s`;
  }

  function formatEta(seconds) {
    if (seconds === null || seconds === undefined) return '';
    if (seconds < 1) return 'under a second left';
    const total = Math.round(seconds);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const rest = total % 60;
    if (hours) return `${hours} h ${minutes} min left`;
    if (minutes) return `${minutes} min ${rest} s left`;
    return `${rest} s left`;
  }

  function formatPercent(percentage) {
    return percentage === null || percentage === undefined ? '' : `${percentage.toFixed(1)} %`;
  }

  function setBar(bar, percentage) {
    const value = Math.max(0, Math.min(100, percentage || 0));
    bar.setAttribute('aria-valuenow', String(value));
    bar.setAttribute('aria-valuetext', formatPercent(value));
    bar.firstElementChild.style.width = `${value}%`;
  }

  // Random UUID v4 (crypto.randomUUID needs a secure context; a demo on a LAN address is not one).
  function uuid() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // -- credentials ----------------------------------------------------------------------------------------

  const credentials = {
    storageKey: 'tusd_py.demo.token',
    input: document.getElementById('token'),

    setUp(onChange) {
      if (!config.authScheme) return;
      document.getElementById('credentials').hidden = false;
      document.getElementById('token-label').textContent =
        config.authScheme === 'ApiKey' ? 'API key' : 'Bearer token';
      this.input.value = this.stored();
      let applied = this.input.value;
      const apply = () => {
        if (this.input.value === applied) return;
        applied = this.input.value;
        this.store(this.input.value.trim());
        onChange();
      };
      this.input.addEventListener('change', apply);
      document.getElementById('credentials-form').addEventListener('submit', (event) => {
        event.preventDefault(); // nothing is posted: the token stays in this page
        apply();
      });
      const show = document.getElementById('token-show');
      show.addEventListener('click', () => {
        const visible = this.input.type === 'password';
        this.input.type = visible ? 'text' : 'password';
        show.setAttribute('aria-pressed', String(visible));
        show.textContent = visible ? 'Hide' : 'Show';
      });
    },

    token() {
      return config.authScheme ? this.input.value.trim() : '';
    },

    headers() {
      const token = this.token();
      if (!token) return {};
      return config.authScheme === 'ApiKey' ? { 'X-API-Key': token } : { Authorization: `Bearer ${token}` };
    },

    // GETs and WebSockets cannot carry the header from a browser: the server reads ?token= there.
    withToken(url) {
      const token = this.token();
      if (!token) return url;
      const withToken = new URL(url);
      withToken.searchParams.set('token', token);
      return withToken.href;
    },

    stored() {
      try {
        return window.localStorage.getItem(this.storageKey) || '';
      } catch (error) {
        return ''; // storage switched off: the field still works for this page
      }
    },

    store(token) {
      try {
        if (token) window.localStorage.setItem(this.storageKey, token);
        else window.localStorage.removeItem(this.storageKey);
      } catch (error) {
        /* storage switched off: keep it in the field only */
      }
    },
  };

  // -- the server's events: one multiplexed WebSocket ---------------------------------------------------------

  const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000];
  const CLOSE_UNAUTHENTICATED = 4401;

  /* Follows uploads and batches on `<endpoint>events`: subscribes to each, resubscribes after a reconnect with
     the last seq seen (the server replays what was missed), and hands each event on once.
     A batch subscription also brings the events of the batch's files, possibly before the page knows their
     upload ids; those are handed on too, and the server never sends one event twice on a socket, so a later
     subscription to such an upload starts after the last one seen. */
  class EventChannel {
    constructor(onEvent, onProblem, onState) {
      this.onEvent = onEvent;
      this.onProblem = onProblem;
      this.onState = onState;
      this.topics = new Map(); // subscriptions: "upload:<id>" or "batch:<name>" -> {key, kind, name}
      this.lastSeq = new Map(); // stream ("upload:<id>" or "batch:<name>") -> last seq handed on
      this.socket = null;
      this.attempt = 0;
      this.timer = null;
    }

    url() {
      const url = new URL('events', config.endpoint);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      return credentials.withToken(url.href);
    }

    connect() {
      window.clearTimeout(this.timer);
      if (this.socket) {
        const old = this.socket;
        this.socket = null;
        old.close(1000, 'reconnecting');
      }
      const socket = new WebSocket(this.url());
      this.socket = socket;
      this.onState('connecting');
      socket.addEventListener('open', () => {
        this.attempt = 0;
        this.onState('open');
        for (const topic of this.topics.values()) this.sendSubscribe(topic);
      });
      socket.addEventListener('message', (message) => this.receive(message.data));
      socket.addEventListener('close', (closed) => {
        if (this.socket !== socket) return;
        this.socket = null;
        if (closed.code === CLOSE_UNAUTHENTICATED) {
          this.onState('unauthenticated', closed.reason);
          return; // a new token reconnects (credentials' change handler)
        }
        const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
        this.attempt += 1;
        this.onState('closed', `${closed.reason || 'connection lost'}; retrying in ${delay / 1000} s`);
        this.timer = window.setTimeout(() => this.connect(), delay);
      });
    }

    follow(kind, name) {
      const key = `${kind}:${name}`;
      if (this.topics.has(key)) return;
      const topic = { key, kind, name };
      this.topics.set(key, topic);
      this.sendSubscribe(topic);
    }

    sendSubscribe(topic) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return; // sent on open
      const message = { action: 'subscribe' };
      const lastSeq = this.lastSeq.get(topic.key);
      if (topic.kind === 'upload') {
        message.upload_id = topic.name;
        // An upload is followed once its URL is known: replay what it published before that.
        message.since = lastSeq === undefined ? 0 : lastSeq;
      } else {
        message.batch = topic.name;
        // A batch is followed before its first file exists; `since` needs the batch to exist already.
        if (lastSeq !== undefined) message.since = lastSeq;
      }
      this.socket.send(JSON.stringify(message));
    }

    receive(text) {
      let message;
      try {
        message = JSON.parse(text);
      } catch (error) {
        return;
      }
      if (['subscribed', 'unsubscribed', 'pong', 'stats'].includes(message.type)) return;
      if (message.type === 'error') {
        this.onProblem(message);
        return;
      }
      const stream = message.upload_id ? `upload:${message.upload_id}` : `batch:${message.batch}`;
      const lastSeq = this.lastSeq.get(stream);
      // A replay and the live stream may overlap: each event counts once. Seq 0 is a state rebuilt after a restart.
      if (lastSeq !== undefined && message.seq !== 0 && message.seq <= lastSeq) return;
      this.lastSeq.set(stream, Math.max(lastSeq || 0, message.seq));
      this.onEvent(message);
    }
  }

  // -- transports: how one file's bytes reach the server ---------------------------------------------------------

  /* A transport is a factory (file, options, callbacks) -> {start(), pause(), resume(), cancel()}.
     options: endpoint, chunkSize, metadata, headers() (called before each start, so a new token applies).
     callbacks: onUrl(url) once the server created the upload, onSent() when every byte is stored, onError(error).
     Progress is never taken from a transport: the server's events drive the page. */
  const TRANSPORTS = {
    tus(file, options, callbacks) {
      const upload = new window.tus.Upload(file, {
        endpoint: options.endpoint,
        chunkSize: options.chunkSize,
        metadata: options.metadata,
        headers: options.headers(),
        retryDelays: [0, 1000, 3000, 5000],
        storeFingerprintForResuming: false, // pause and resume live in this page
        onUploadUrlAvailable: () => callbacks.onUrl(upload.url),
        onSuccess: () => callbacks.onSent(),
        onError: (error) => callbacks.onError(error),
      });
      const go = () => {
        upload.options.headers = options.headers();
        upload.start();
      };
      return {
        start: go,
        pause: () => upload.abort(false), // ends the PATCH; the server keeps what it stored
        resume: go, // asks the server for its offset (HEAD), then sends the rest
        cancel: () => upload.abort(true), // DELETE: the server removes it and counts it as failed
      };
    },

    /* The server's upload socket (`<endpoint>upload`): a create (or, after a pause, a resume) message, then
       binary frames, never more than the server's window beyond what it acknowledged as stored. */
    websocket(file, options, callbacks) {
      let socket = null;
      let uploadId = null;
      let url = null;
      const socketUrl = () => {
        const address = new URL('upload', options.endpoint);
        address.protocol = address.protocol === 'https:' ? 'wss:' : 'ws:';
        return credentials.withToken(address.href);
      };
      const open = () => {
        const ws = new WebSocket(socketUrl());
        socket = ws;
        const flow = { window: 0, frame: 0, acknowledged: 0, sent: 0, sending: false, complete: false, error: null };
        const pump = async () => {
          if (flow.sending) return;
          flow.sending = true;
          try {
            while (socket === ws && ws.readyState === WebSocket.OPEN && flow.sent < file.size
                   && flow.sent - flow.acknowledged < flow.window) {
              const end = Math.min(file.size, flow.sent + flow.frame, flow.acknowledged + flow.window);
              const piece = await file.slice(flow.sent, end).arrayBuffer();
              if (socket !== ws || ws.readyState !== WebSocket.OPEN) break;
              ws.send(piece);
              flow.sent = end;
            }
          } finally {
            flow.sending = false;
          }
        };
        ws.addEventListener('message', (message) => {
          const said = JSON.parse(message.data);
          if (said.type === 'status' && said.status === 'connected') {
            ws.send(JSON.stringify(uploadId
              ? { type: 'resume', upload_id: uploadId }
              : { type: 'create', size: file.size, metadata: options.metadata }));
          } else if (said.type === 'status' && (said.status === 'created' || said.status === 'resumed')) {
            uploadId = said.upload_id;
            flow.window = said.window;
            flow.frame = said.max_frame_size;
            flow.acknowledged = flow.sent = said.offset;
            if (url === null) {
              url = said.url;
              callbacks.onUrl(url);
            }
            pump();
          } else if (said.type === 'progress') {
            flow.acknowledged = said.offset;
            pump();
          } else if (said.type === 'status' && said.status === 'completed') {
            flow.complete = true;
            callbacks.onSent();
          } else if (said.type === 'error') {
            flow.error = said;
          }
        });
        ws.addEventListener('close', (closed) => {
          if (socket !== ws) return; // paused or cancelled: this page closed it
          socket = null;
          if (!flow.complete) {
            const reason = flow.error ? flow.error.error_message : `the upload socket closed (${closed.code})`;
            callbacks.onError(new Error(reason));
          }
        });
      };
      const close = () => {
        const ws = socket;
        socket = null;
        if (ws) ws.close(1000, 'paused'); // the server keeps what it stored
      };
      return {
        start: open,
        pause: close,
        resume: open, // a resume message: the server answers with its offset, and the rest follows
        cancel: () => {
          close();
          return fetch(url, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', ...options.headers() } })
            .then((response) => {
              if (response.status !== 204 && response.status !== 404 && response.status !== 410) {
                throw new Error(`the server answered ${response.status}`);
              }
            });
        },
      };
    },
  };

  const transportChoice = document.getElementById('transport');
  if (transportChoice) {
    transportChoice.value = TRANSPORTS[config.transport] ? config.transport : 'tus';
    config.transport = transportChoice.value;
    transportChoice.addEventListener('change', () => {
      config.transport = transportChoice.value;
      describeSetUp(); // eslint-disable-line no-use-before-define -- a function declaration, hoisted
    });
  }

  // -- one file -------------------------------------------------------------------------------------------

  const ACTIVE = 'uploading';
  const STATUS_TEXT = {
    queued: 'queued',
    uploading: 'uploading',
    paused: 'paused',
    sent: 'all bytes sent; waiting for the server',
    completed: 'complete',
    cancelling: 'cancelling…',
    cancelled: 'cancelled',
    expired: 'expired on the server',
    error: 'stopped',
  };

  class FileRow {
    constructor(file, batch, uploads) {
      this.file = file;
      this.batch = batch;
      this.uploads = uploads;
      this.state = 'queued';
      this.lastEvent = null;
      this.transport = null;
      this.uploadId = null;
      this.url = null;
      this.element = document.getElementById('file-template').content.firstElementChild.cloneNode(true);
      this.element.dataset.name = file.name;
      this.part('.file-name').textContent = file.name;
      this.part('.file-size').textContent = formatBytes(file.size);
      this.bar = this.part('.bar');
      this.bar.setAttribute('aria-label', `${file.name}: bytes stored on the server`);
      this.button('.file-pause', `Pause ${file.name}`, () => this.pause());
      this.button('.file-resume', `Resume ${file.name}`, () => this.resume());
      this.button('.file-cancel', `Cancel ${file.name}`, () => this.cancel());
      this.setState('queued');
    }

    part(selector) {
      return this.element.querySelector(selector);
    }

    button(selector, label, action) {
      const button = this.part(selector);
      button.setAttribute('aria-label', label);
      button.addEventListener('click', action);
    }

    setState(state, text) {
      this.state = state;
      this.element.dataset.state = state;
      this.part('.file-status').textContent = text || STATUS_TEXT[state] || state;
      const exists = this.url !== null;
      this.part('.file-pause').hidden = state !== 'uploading';
      this.part('.file-resume').hidden = !(state === 'paused' || state === 'error');
      this.part('.file-resume').textContent = state === 'error' ? 'Retry' : 'Resume';
      this.part('.file-cancel').hidden = !exists || !['uploading', 'paused', 'error'].includes(state);
      this.renderNumbers();
      if (this.batch.rendered) this.batch.renderSpeed();
    }

    get active() {
      return this.state === ACTIVE;
    }

    start() {
      this.setState('uploading');
      if (this.transport) {
        this.transport.resume();
        return;
      }
      const factory = TRANSPORTS[config.transport] || TRANSPORTS.tus;
      this.transport = factory(
        this.file,
        {
          endpoint: config.endpoint,
          chunkSize: config.chunkSize,
          headers: () => credentials.headers(),
          metadata: {
            filename: this.file.name,
            filetype: this.file.type || 'application/octet-stream',
            batch: this.batch.id,
            batch_total: String(this.batch.rows.length),
          },
        },
        {
          onUrl: (url) => this.created(url),
          onSent: () => this.sent(),
          onError: (error) => this.failedToSend(error),
        },
      );
      this.transport.start();
    }

    pause() {
      if (this.state !== 'uploading') return;
      this.transport.pause();
      this.setState('paused');
      scheduler.pump();
    }

    resume() {
      if (this.state !== 'paused' && this.state !== 'error') return;
      this.setState('queued', 'resuming…');
      scheduler.pump();
    }

    cancel() {
      if (!this.transport || this.url === null) return;
      const before = this.state;
      this.setState('cancelling');
      Promise.resolve(this.transport.cancel()).catch((error) => {
        this.setState(before, `could not cancel: ${brief(error)}`);
      });
      scheduler.pump();
    }

    created(url) {
      this.url = url;
      this.uploadId = new URL(url).pathname.split('/').filter(Boolean).pop();
      this.element.dataset.uploadId = this.uploadId;
      this.uploads.set(this.uploadId, this);
      this.setState(this.state);
      for (const event of early.get(this.uploadId) || []) this.apply(event);
      early.delete(this.uploadId);
      events.follow('upload', this.uploadId);
    }

    sent() {
      if (this.state === 'uploading') this.setState('sent');
      scheduler.pump();
    }

    failedToSend(error) {
      if (this.state === 'cancelling') return;
      this.setState('error', `stopped: ${brief(error)}`);
      scheduler.pump();
    }

    /* One server event: the numbers always; the state for the types that change it. */
    apply(event) {
      this.showNumbers(event);
      switch (event.type) {
        case 'completed':
          this.finish();
          break;
        case 'terminated':
          this.setState('cancelled', this.state === 'cancelling' ? 'cancelled' : 'removed on the server');
          break;
        case 'expired':
          this.setState('expired');
          break;
        case 'processing':
          this.setState('processing', `processing: ${describeStage(event)}`);
          break;
        case 'processed':
          this.setState('processed', event.message || 'processed');
          break;
        case 'failed':
          this.setState('failed', `failed${event.stage ? ` in ${event.stage}` : ''}: ${
            event.error_message || event.error_code || event.message || 'no reason given'}`);
          break;
        default:
          break; // created, progress: the numbers say it
      }
      scheduler.pump();
    }

    showNumbers(event) {
      this.lastEvent = event;
      if (event.percentage !== null && event.percentage !== undefined) setBar(this.bar, event.percentage);
      this.element.dataset.offset = String(event.offset);
      this.renderNumbers();
    }

    renderNumbers() {
      const event = this.lastEvent;
      if (!event) return;
      const numbers = [`${formatBytes(event.offset)} of ${formatBytes(event.length)}`, formatPercent(event.percentage)];
      // The server sends nothing while nothing moves: a paused file's last speed would linger.
      if (this.state === 'uploading') numbers.push(formatSpeed(event.bytes_per_second), formatEta(event.eta_seconds));
      this.part('.file-numbers').textContent = numbers.filter(Boolean).join(' · ');
    }

    finish() {
      this.setState('completed');
      const link = this.part('.file-download');
      link.href = credentials.withToken(this.url);
      link.download = this.file.name;
      link.setAttribute('aria-label', `Download ${this.file.name}`);
      link.hidden = false;
    }
  }

  function describeStage(event) {
    const progress = event.stage_progress;
    const parts = [event.stage || 'a stage'];
    if (progress !== null && progress !== undefined) parts.push(formatPercent(progress * 100));  // a fraction, 0 to 1
    return parts.join(' ');
  }

  function brief(error) {
    const text = error && error.message ? error.message : String(error);
    return text.split(', originated from request')[0].slice(0, 200);
  }

  // -- one batch: the files of one pick ------------------------------------------------------------------

  class Batch {
    constructor(files, uploads) {
      this.id = uuid();
      this.element = document.getElementById('batch-template').content.firstElementChild.cloneNode(true);
      this.element.dataset.batch = this.id;
      this.part('.batch-id').textContent = this.id.slice(0, 8);
      this.part('.batch-id').title = this.id;
      this.bar = this.part('.bar');
      this.bar.setAttribute('aria-label', `Batch ${this.id.slice(0, 8)}: bytes stored on the server`);
      this.lastEvent = null;
      this.rows = files.map((file) => new FileRow(file, this, uploads));
      const list = this.part('.files');
      for (const row of this.rows) list.append(row.element);
      this.part('.summary-files').textContent = String(this.rows.length);
      this.element.dataset.total = String(this.rows.length);
      this.element.dataset.finished = '0';
      this.element.dataset.failed = '0';
    }

    part(selector) {
      return this.element.querySelector(selector);
    }

    get rendered() {
      return Boolean(this.lastEvent);
    }

    renderSpeed() {
      // Only while a file of this page sends: the server's last figure lingers when everything stopped.
      const moving = this.rows.some((row) => row.state === 'uploading');
      const event = this.lastEvent;
      this.part('.summary-speed').textContent = (moving && formatSpeed(event.bytes_per_second)) || '–';
      this.part('.summary-eta').textContent = (moving && formatEta(event.eta_seconds)) || '–';
    }

    /* batch-progress and batch-completed: the server's counts for the whole batch. */
    apply(event) {
      setBar(this.bar, event.percentage);
      this.element.dataset.total = String(event.total);
      this.element.dataset.finished = String(event.finished);
      this.element.dataset.failed = String(event.failed);
      this.part('.summary-files').textContent = String(event.total);
      this.part('.summary-finished').textContent = String(event.finished);
      this.part('.summary-failed').textContent = String(event.failed);
      this.part('.summary-bytes').textContent =
        `${formatBytes(event.bytes_received)} of ${formatBytes(event.bytes_total)}`;
      this.part('.summary-percentage').textContent = formatPercent(event.percentage) || '–';
      this.lastEvent = event;
      this.renderSpeed();
      const done = event.type === 'batch-completed';
      this.element.dataset.state = done ? 'completed' : 'uploading';
      this.part('.batch-status').textContent = done
        ? `done: ${event.finished} finished, ${event.failed} failed`
        : event.message || 'uploading';
    }
  }

  // -- how many files send at once -------------------------------------------------------------------------

  const scheduler = {
    rows: [],

    add(rows) {
      this.rows.push(...rows);
      this.pump();
    },

    pump() {
      let active = this.rows.filter((row) => row.active).length;
      for (const row of this.rows) {
        if (active >= config.parallel) return;
        if (row.state === 'queued') {
          row.start();
          active += 1;
        }
      }
    },
  };

  // -- the page -------------------------------------------------------------------------------------------

  const uploads = new Map(); // upload id -> FileRow
  const early = new Map(); // upload id -> its events that came (through its batch) before its row knew the id
  const batches = new Map(); // batch id -> Batch
  const connection = document.getElementById('connection');

  const CONNECTION_TEXT = {
    connecting: 'Live events: connecting…',
    open: 'Live events: connected',
    closed: 'Live events: disconnected',
    unauthenticated: 'Live events: refused',
  };

  const events = new EventChannel(
    (event) => {
      if (event.upload_id) {
        const row = uploads.get(event.upload_id);
        if (row) row.apply(event);
        else early.set(event.upload_id, [...(early.get(event.upload_id) || []), event]);
      } else if (event.batch && batches.has(event.batch)) {
        batches.get(event.batch).apply(event);
      }
    },
    (problem) => {
      const uploadId = problem.details && problem.details.upload_id;
      const row = uploadId && uploads.get(uploadId);
      if (row) row.setState(row.state, `events: ${problem.error_message}`);
    },
    (state, detail) => {
      connection.dataset.state = state;
      connection.textContent = CONNECTION_TEXT[state] + (detail ? ` (${detail})` : '');
    },
  );

  function uploadFiles(fileList) {
    const files = Array.from(fileList);
    if (!files.length || !ready) return;
    const batch = new Batch(files, uploads);
    batches.set(batch.id, batch);
    document.getElementById('batches').prepend(batch.element);
    events.follow('batch', batch.id); // before any file exists, so no batch event is missed
    scheduler.add(batch.rows);
  }

  function setUpPicker() {
    const input = document.getElementById('file-input');
    const zone = document.getElementById('picker');
    input.disabled = !ready;
    zone.dataset.disabled = String(!ready);
    input.addEventListener('change', () => {
      uploadFiles(input.files);
      input.value = ''; // the same files can be picked again
    });
    // A file dropped anywhere else must not make the browser leave the page to show it.
    for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());
    zone.addEventListener('dragenter', () => zone.classList.add('dragging'));
    zone.addEventListener('dragover', (event) => {
      event.dataTransfer.dropEffect = ready ? 'copy' : 'none';
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragleave', (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove('dragging');
    });
    zone.addEventListener('drop', (event) => {
      zone.classList.remove('dragging');
      uploadFiles(event.dataTransfer.files);
    });
  }

  function describeSetUp() {
    const chunks = config.chunkSize === Infinity ? 'one request per file' : `chunks of ${formatBytes(config.chunkSize)}`;
    const how = config.transport === 'websocket' ? 'over the upload socket' : `with tus-js-client (${chunks})`;
    document.getElementById('about').textContent =
      `Uploads go to ${config.endpoint} ${how}, ${config.parallel} files at a time. ` +
      'Bars, speed and time left come from the server\'s live events.';
  }

  const ready = Boolean(window.tus && window.tus.isSupported);
  if (!ready) {
    document.getElementById('install-notice').hidden = false;
    document.body.dataset.tus = 'missing';
  }
  credentials.setUp(() => events.connect());
  setUpPicker();
  describeSetUp();
  events.connect();
})();
