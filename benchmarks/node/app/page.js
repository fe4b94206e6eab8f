// The app exists for its image optimizer (/_next/image); this page is only what
// `next build` needs to produce a server.
export default function Page() {
  return <p>pixserve benchmark peer</p>;
}
