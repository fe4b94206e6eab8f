// Next.js' image optimizer as `make bench` races it (benchmarks/node_peers.py).
// Widths and qualities are the benchmark's; `localPatterns` allows any query on the
// photos so a cold request can carry a cache-busting token; JPEG is baseline like
// pixserve's unless NEXT_IMG_MOZJPEG=1 asks for Next's shipped setting (mozjpeg).
const widths = (process.env.BENCH_WIDTHS || "300,320,640,960,1280").split(",").map(Number);
const qualities = (process.env.BENCH_QUALITIES || "75,80,96").split(",").map(Number);

export default {
  images: {
    deviceSizes: widths,
    imageSizes: [16],
    qualities,
    formats: ["image/avif", "image/webp"],
    localPatterns: [{ pathname: "/photos/**" }],
  },
  experimental: {
    imgOptMozjpeg: process.env.NEXT_IMG_MOZJPEG === "1",
  },
};
