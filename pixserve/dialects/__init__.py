"""thumbor and imgproxy URLs, translated into pixserve's own options.

Each dialect module is pure (a URL path in, a `Translated` out); `views` mounts them.
"""
