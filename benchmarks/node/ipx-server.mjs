// IPX (Nuxt Image's server) as `make bench` races it (benchmarks/node_peers.py):
// createIPX + ipxFSStorage + createIPXNodeServer over the corpus, sharp's operation
// cache off (each request decodes its source, as in pixserve), baseline JPEG like
// pixserve's (IPX's own default is progressive). Usage: node ipx-server.mjs ROOT PORT
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { createIPX, createIPXNodeServer, ipxFSStorage } from "ipx";

const [root, port] = process.argv.slice(2);
// The sharp that IPX itself loads (its own dependency range), not ours.
const sharp = createRequire(fileURLToPath(import.meta.resolve("ipx")))("sharp");
sharp.cache(false);

const ipx = createIPX({
  storage: ipxFSStorage({ dir: root }),
  sharpOptions: { jpegProgressive: false },
});
createServer(createIPXNodeServer(ipx)).listen(Number(port), "127.0.0.1", () => {
  console.log(`ipx ${port}: sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`);
});
