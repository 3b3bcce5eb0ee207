// A reference tus server (@tus/server with @tus/file-store) to run next to tusd_py as a peer.
//
//   node tus_node_server.mjs --port 1080 --dir /tmp/uploads [--host 127.0.0.1] [--path /files]
//
// Prints one JSON line {"listening": "<endpoint>"} once it accepts connections, and exits
// cleanly on SIGTERM or SIGINT. The file store keeps `<id>` and `<id>.json`, not tusd's `.info`.

import { parseArgs } from 'node:util'
import { FileStore } from '@tus/file-store'
import { Server } from '@tus/server'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    dir: { type: 'string' },
    path: { type: 'string', default: '/files' },
  },
})

if (!values.port || !values.dir) {
  console.error('usage: node tus_node_server.mjs --port PORT --dir DIRECTORY [--host HOST] [--path PATH]')
  process.exit(2)
}

const path = values.path.replace(/\/+$/, '')
const tus = new Server({ path, datastore: new FileStore({ directory: values.dir }) })
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
