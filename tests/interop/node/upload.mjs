// Upload one file with tus-js-client 4 from node, and report what happened as one JSON line.
//
//   node upload.mjs '{"endpoint": "http://127.0.0.1:1080/files/", "file": "/tmp/data.bin", ...}'
//
// Options (all but `file` and one of `endpoint`/`uploadUrl`/`urlStorage` are optional):
//   endpoint, file                 creation URL and the file to send
//   input                          "file" (fs.createReadStream, the default) or "buffer" (the whole file in memory)
//   chunkSize, uploadDataDuringCreation, uploadLengthDeferred, parallelUploads, overridePatchMethod,
//   addRequestId, metadata, metadataForPartialUploads, headers, protocol ('ietf-draft-03', 'ietf-draft-05')
//                                  passed to tus.Upload unchanged
//   retryDelays                    passed unchanged; defaults to null (no retries) so that a server error
//                                  shows up as the response that caused it instead of being retried away
//   uploadUrl                      resume this upload instead of creating one
//   urlStorage                     a JSON file for tus.FileUrlStorage: uploads are remembered there, and the
//                                  first previous upload found for this file is resumed
//   abortAfterBytes                call upload.abort() once the server has accepted at least this many bytes;
//                                  the abort lands between two requests, so what the server stored is settled
//   terminateAfterBytes            the same, then terminate the upload (tus-js-client's abort(true): a DELETE)
//
// Output: {"ok", "aborted", "uploadUrl", "resumedFrom", "bytesUploaded", "progressEvents", "error",
// "requests": [{"method", "url", "requestHeaders", "status", "responseHeaders", "responseBody"}]}.
// `bytesUploaded` counts the bytes the server accepted during this run. Exit status 0 when the upload
// finished or was aborted as asked, 1 on an upload error, 2 on bad arguments.

import * as fs from 'node:fs'
import * as tus from 'tus-js-client'

// The request headers worth reporting: everything tus-js-client may set on a request.
const TUS_REQUEST_HEADERS = [
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Defer-Length',
  'Upload-Offset',
  'Upload-Metadata',
  'Upload-Concat',
  'Content-Type',
  'X-HTTP-Method-Override',
  'X-Request-ID',
  'Upload-Complete',
  'Upload-Draft-Interop-Version',
]

const PASSED_THROUGH = [
  'endpoint',
  'uploadUrl',
  'chunkSize',
  'uploadDataDuringCreation',
  'uploadLengthDeferred',
  'parallelUploads',
  'overridePatchMethod',
  'addRequestId',
  'metadata',
  'metadataForPartialUploads',
  'headers',
  'protocol',
]

function parseOptions(argv) {
  if (argv.length !== 1) {
    throw new Error('expected exactly one argument: a JSON object of options')
  }
  const options = JSON.parse(argv[0])
  if (typeof options.file !== 'string') {
    throw new Error('the "file" option is required')
  }
  if (!options.endpoint && !options.uploadUrl && !options.urlStorage) {
    throw new Error('one of "endpoint", "uploadUrl" or "urlStorage" is required')
  }
  return options
}

function openInput(options) {
  const kind = options.input ?? 'file'
  if (kind === 'file') return fs.createReadStream(options.file)
  if (kind === 'buffer') return fs.readFileSync(options.file)
  throw new Error(`unknown input kind ${JSON.stringify(kind)}: use "file" or "buffer"`)
}

// Records every request tus-js-client sends (partial uploads included) and the response to it.
class RequestLog {
  constructor() {
    this.entries = []
    this._byRequest = new Map()
  }

  before(req) {
    const requestHeaders = {}
    for (const name of TUS_REQUEST_HEADERS) {
      const value = req.getHeader(name)
      if (value !== undefined) requestHeaders[name] = String(value)
    }
    const entry = { method: req.getMethod(), url: req.getURL(), requestHeaders, status: null }
    this._byRequest.set(req, entry)
    this.entries.push(entry)
  }

  after(req, res) {
    const entry = this._byRequest.get(req)
    entry.status = res.getStatus()
    entry.responseHeaders = { ...res.getUnderlyingObject().headers }
    entry.responseBody = res.getBody()
  }
}

function runUpload(options) {
  const log = new RequestLog()
  const report = {
    ok: false,
    aborted: false,
    uploadUrl: null,
    resumedFrom: null,
    bytesUploaded: 0,
    progressEvents: 0,
    error: null,
    requests: log.entries,
  }

  return new Promise((resolve) => {
    let upload = null
    const finish = (error) => {
      report.uploadUrl = upload?.url ?? null
      report.ok = error == null
      report.error = error == null ? null : String(error.message ?? error)
      resolve(report)
    }

    const tusOptions = {
      retryDelays: options.retryDelays ?? null,
      onBeforeRequest: (req) => log.before(req),
      onAfterResponse: (req, res) => log.after(req, res),
      onProgress: () => {
        report.progressEvents += 1
      },
      onChunkComplete: (chunkSize, bytesAccepted) => {
        report.bytesUploaded += chunkSize
        if (options.abortAfterBytes != null && bytesAccepted >= options.abortAfterBytes) {
          report.aborted = true
          upload.abort().then(() => finish(null), finish)
        } else if (options.terminateAfterBytes != null && bytesAccepted >= options.terminateAfterBytes) {
          report.aborted = true
          upload.abort(true).then(() => finish(null), finish) // abort(true) also terminates: a DELETE
        }
      },
      onSuccess: () => finish(null),
      onError: finish,
    }
    for (const name of PASSED_THROUGH) {
      if (options[name] !== undefined) tusOptions[name] = options[name]
    }
    if (options.urlStorage) {
      tusOptions.urlStorage = new tus.FileUrlStorage(options.urlStorage)
    }

    try {
      upload = new tus.Upload(openInput(options), tusOptions)
    } catch (error) {
      finish(error)
      return
    }
    if (!options.urlStorage) {
      upload.start()
      return
    }
    upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length > 0) {
          report.resumedFrom = previous[0].uploadUrl ?? null
          upload.resumeFromPreviousUpload(previous[0])
        }
        upload.start()
      })
      .catch(finish)
  })
}

function exit(report, code) {
  // Exit explicitly (idle keep-alive sockets could hold the process), but only once stdout is flushed.
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(code))
}

let options
try {
  options = parseOptions(process.argv.slice(2))
} catch (error) {
  console.error(`upload.mjs: ${error.message}`)
  process.exit(2)
}
runUpload(options).then((report) => exit(report, report.ok ? 0 : 1))
