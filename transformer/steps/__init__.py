"""Pipeline steps: each a small function over a `Context`, in its own module."""
