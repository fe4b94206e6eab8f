// Prints, as JSON, the versions `make bench` reports: Node, Next.js and IPX, and the
// sharp (with its libvips) that each of them loads. Run from benchmarks/node.
const { createRequire } = require("node:module");

const here = createRequire(`${process.cwd()}/`);
const sharpOf = (main) => createRequire(main)("sharp").versions;
const ipxMain = here.resolve("ipx");
const nextSharp = sharpOf(here.resolve("next"));
const ipxSharp = sharpOf(ipxMain);
const ipxVersion = require(ipxMain.replace(/dist\/.*$/, "package.json")).version;
const nextVersion = require(here.resolve("next/package.json")).version;
console.log(
  JSON.stringify({
    node: process.version,
    next: `Next.js ${nextVersion} (sharp ${nextSharp.sharp}, libvips ${nextSharp.vips})`,
    ipx: `IPX ${ipxVersion} (sharp ${ipxSharp.sharp}, libvips ${ipxSharp.vips})`,
  }),
);
