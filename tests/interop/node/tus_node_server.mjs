// A reference tus server (@tus/server with @tus/file-store or @tus/s3-store) to run next to tusd_py as a peer.
//
//   node tus_node_server.mjs --port 1080 --dir /tmp/uploads [--host 127.0.0.1] [--path /files]
//   node tus_node_server.mjs --port 1080 --s3-bucket NAME --s3-endpoint URL [--s3-region R] [--s3-part-size BYTES]
//
// Prints one JSON line {"listening": "<endpoint>"} once it accepts connections, and exits
// cleanly on SIGTERM or SIGINT. The file store keeps `<id>` and `<id>.json`, not tusd's `.info`.
// The S3 store (path-style requests, for S3-compatible services) takes its credentials from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and keeps its default part size (8 MiB) and
// concurrency (60 parts at once) unless told otherwise.

import { parseArgs } from 'node:util'
import { FileStore } from '@tus/file-store'
import { S3Store } from '@tus/s3-store'
import { Server } from '@tus/server'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    dir: { type: 'string' },
    path: { type: 'string', default: '/files' },
    's3-bucket': { type: 'string' },
    's3-endpoint': { type: 'string' },
    's3-region': { type: 'string', default: 'us-east-1' },
    's3-part-size': { type: 'string' },
  },
})

if (!values.port || !(values.dir || values['s3-bucket'])) {
  console.error(
    'usage: node tus_node_server.mjs --port PORT (--dir DIRECTORY | --s3-bucket NAME --s3-endpoint URL) ' +
      '[--host HOST] [--path PATH]'
  )
  process.exit(2)
}

function s3Store() {
  return new S3Store({
    ...(values['s3-part-size'] ? { partSize: Number(values['s3-part-size']) } : {}),
    s3ClientConfig: {
      bucket: values['s3-bucket'],
      endpoint: values['s3-endpoint'],
      region: values['s3-region'],
      forcePathStyle: true,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
      },
    },
  })
}

const path = values.path.replace(/\/+$/, '')
const datastore = values['s3-bucket'] ? s3Store() : new FileStore({ directory: values.dir })
const tus = new Server({ path, datastore })
const server = tus.listen({ host: values.host, port: Number(values.port) })

server.on('listening', () => {
  console.log(JSON.stringify({ listening: `http://${values.host}:${values.port}${path}/` }))
})
server.on('error', (error) => {
  console.error(error.message)
  process.exit(1)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0))
    // Keep-alive sockets would hold close() open; nobody waits on them here.
    server.closeAllConnections()
  })
}
